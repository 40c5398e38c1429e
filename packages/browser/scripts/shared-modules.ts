/**
 * The modules Grafana's plugin loader shares with plugins (its `sharedDependenciesMap`). create-plugin's
 * webpack config leaves these and a few more (`angular`, slate's plugins) to Grafana as externals; the
 * artifact check holds the built modules' AMD dependencies to this list, because any other one makes
 * Grafana's loader fail the plugin.
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
