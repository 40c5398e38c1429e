/**
 * The footfall app plugin. Grafana imports this module at boot on every page of every user of an org
 * where the app is enabled (`preload` in plugin.json) and calls `init` with the app's settings; the
 * page hub then tracks every dashboard the user opens. Kept small: the tracker and the OTel SDK are
 * loaded from `footfall-model.js` only once there is a dashboard to track.
 */
import { AppPlugin, type AppPluginMeta } from '@grafana/data';
import { loadModel, pageHub } from '@footfall/browser/hub.ts';
import type { FootfallOptions } from '@footfall/browser/settings.ts';
import { FOOTFALL_VERSION } from '@footfall/browser/version.ts';
import { ConfigPage } from './components/ConfigPage.tsx';

// At module top level, so Grafana's Echo events reach the hub from the first moment it can see them.
const hub = pageHub(loadModel, FOOTFALL_VERSION);

export type FootfallJsonData = Partial<FootfallOptions>;

class FootfallApp extends AppPlugin<FootfallJsonData> {
  override init(meta: AppPluginMeta<FootfallJsonData>): void {
    // Grafana also loads the module to show the configuration page of an app not enabled yet.
    if (meta.enabled === false) {
      return;
    }
    hub.enableZeroTouch(meta.jsonData ?? {});
  }
}

export const plugin = new FootfallApp().addConfigPage({
  title: 'Settings',
  icon: 'cog',
  body: ConfigPage,
  id: 'settings',
});
