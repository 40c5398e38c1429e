/**
 * The host bundle: Grafana's side of the page, once per shared-module set. The page loads it after
 * `system.js` and before SystemJS's AMD extra (with a global `define` present, lodash would register
 * itself through it instead of returning its exports), and after `window.grafanaBootData`, which
 * @grafana/runtime reads while it is imported (`config`; `locationService` takes `appSubUrl` as the
 * browser history's basename).
 */
import { config, setEchoSrv, setTemplateSrv } from '@grafana/runtime';
import { preloadApps } from './app-preloader.ts';
import { createEchoSrv } from './echo-srv.ts';
import { createHarness } from './harness.ts';
import type { FootfallHarness } from './harness-api.ts';
import { createPluginLoader } from './plugin-loader.ts';
import { registerSharedModules, type SystemJs } from './shared-modules.ts';
import { createTemplateSrv } from './template-srv.ts';

declare global {
  interface Window {
    System: SystemJs;
    footfallHarness: FootfallHarness;
    /** Filled by the page's first script, so errors while this bundle loads are kept too. */
    footfallPageErrors: string[];
  }
}

registerSharedModules(window.System);
const loader = createPluginLoader(window.System, config.appSubUrl);

// Grafana's boot order (app.ts): Echo first, then the other services, then the app plugin preload.
const templateSrv = createTemplateSrv();
setTemplateSrv(templateSrv);
setEchoSrv(createEchoSrv());

const container = document.getElementById('reactRoot');
if (!container) {
  throw new Error('the page has no #reactRoot');
}

// The preload starts once the page's scripts have all run (the AMD extra comes after this bundle) and
// is not awaited by anything on the page, as in Grafana.
const appPreloads = new Promise<void>((resolve) => {
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', () => resolve(), { once: true });
  } else {
    resolve();
  }
}).then(() => preloadApps(loader));

window.footfallHarness = createHarness({
  system: window.System,
  templateSrv,
  container,
  errors: window.footfallPageErrors,
  appPreloads,
});
