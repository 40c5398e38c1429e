/**
 * The modules Grafana's plugin loader shares with plugins (its `sharedDependenciesMap`, the same list
 * create-plugin marks external). The build leaves these to Grafana, and the artifact check holds the
 * built module's AMD dependencies to this list.
 */
export const GRAFANA_SHARED_MODULES: readonly string[] = [
  '@emotion/css',
  '@emotion/react',
  '@grafana/data',
  '@grafana/runtime',
  '@grafana/ui',
  'd3',
  'emotion',
  'i18next',
  'jquery',
  'lodash',
  'moment',
  'prismjs',
  'react',
  'react-dom',
  'react-redux',
  'react-router',
  'react/jsx-runtime',
  'react/jsx-dev-runtime',
  'redux',
  'rxjs',
  'slate',
];

/** Whether an import is provided by Grafana at run time (and must therefore not be bundled). */
export function isGrafanaShared(id: string): boolean {
  return GRAFANA_SHARED_MODULES.includes(id) || /^@grafana\/(data|ui|runtime)(\/.*)?$/.test(id) || /^rxjs\/operators$/.test(id);
}
