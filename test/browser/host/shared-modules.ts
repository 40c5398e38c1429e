/**
 * Hands the page's modules to plugins the way Grafana's loader does (public/app/features/plugins/
 * loader: `sharedDependenciesMap` + `buildImportMap`): each module is put in SystemJS's registry
 * under a `package:<name>` URL, and an import map sends the bare name a plugin's AMD `define` asks
 * for to that URL. Modules outside this list fail to load, as they do in Grafana.
 */
import * as emotionCss from '@emotion/css';
import * as grafanaData from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import * as grafanaUi from '@grafana/ui';
import * as lodash from 'lodash';
import * as react from 'react';
import * as reactDom from 'react-dom';
import * as jsxRuntime from 'react/jsx-runtime';
import * as rxjs from 'rxjs';
import * as rxjsOperators from 'rxjs/operators';

/** The part of SystemJS (loaded by the page before this bundle) the host uses. */
export interface SystemJs {
  set(id: string, module: object): void;
  addImportMap(map: { imports: Record<string, string> }): void;
  import(id: string): Promise<Record<string, unknown>>;
  /** Replaceable, as Grafana replaces it with its cache-busting resolve. */
  resolve(id: string, parentUrl?: string): string;
}

/** Grafana's prefix: it turns a bare specifier into a URL, which SystemJS's registry requires. */
const SHARED_DEPENDENCY_PREFIX = 'package';

const sharedModules: Readonly<Record<string, object>> = {
  '@emotion/css': emotionCss,
  '@grafana/data': grafanaData,
  '@grafana/runtime': grafanaRuntime,
  // Grafana re-exports the plugin base classes from @grafana/ui for plugins written before 6.5.
  '@grafana/ui': {
    ...grafanaUi,
    PanelPlugin: grafanaData.PanelPlugin,
    DataSourcePlugin: grafanaData.DataSourcePlugin,
    AppPlugin: grafanaData.AppPlugin,
    DataSourceApi: grafanaData.DataSourceApi,
  },
  // `__useDefault` makes the AMD extra hand plugins lodash's function itself, as Grafana does.
  lodash: { ...lodash, __useDefault: true },
  react,
  'react-dom': reactDom,
  'react/jsx-runtime': jsxRuntime,
  rxjs,
  'rxjs/operators': rxjsOperators,
};

export function registerSharedModules(system: SystemJs): void {
  const imports: Record<string, string> = {};
  for (const [name, module] of Object.entries(sharedModules)) {
    const url = `${SHARED_DEPENDENCY_PREFIX}:${name}`;
    system.set(url, module);
    imports[name] = url;
  }
  system.addImportMap({ imports });
}
