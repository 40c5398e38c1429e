/**
 * The app's module as Grafana's preloader uses it: import, then `plugin.init(meta)` with the app's
 * settings DTO. On jsdom with the real @grafana/runtime; the hub's dynamic import of the model is
 * the build's `footfall-model.js` chunk.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { AppPlugin, PluginType, type AppPluginMeta } from '@grafana/data';
import { locationService } from '@grafana/runtime';
import { pageHub } from '@footfall/browser/hub.ts';
import { installDeliveringEchoSrv } from '@footfall/browser/testing/echo.ts';
import { resetGrafana } from '@footfall/browser/testing/grafana.ts';
import { plugin, type FootfallJsonData } from './module.ts';

// The model module is evaluated once, when the hub first loads it: what a browser fetches as `footfall-model.js`.
const model = vi.hoisted(() => ({ loads: 0 }));
vi.mock('@footfall/browser/model-entry.ts', async (importOriginal) => {
  model.loads += 1;
  return importOriginal();
});

const unusedLoader = () => Promise.reject(new Error('the page already has a hub'));

function meta(jsonData: FootfallJsonData, enabled = true): AppPluginMeta<FootfallJsonData> {
  return {
    id: 'footfall-app',
    name: 'footfall',
    type: PluginType.app,
    enabled,
    pinned: enabled,
    jsonData,
    module: 'public/plugins/footfall-app/module.js',
    baseUrl: 'public/plugins/footfall-app',
    info: {
      author: { name: 'footfall' },
      description: '',
      links: [],
      logos: { small: '', large: '' },
      screenshots: [],
      updated: '',
      version: '0.1.0',
    },
  };
}

beforeEach(() => {
  installDeliveringEchoSrv();
  resetGrafana();
  locationService.push('/d/sales/sales-overview?orgId=1');
});

afterEach(() => vi.useRealTimers());

describe('the app module', () => {
  test('is an app plugin with a configuration page', () => {
    expect(plugin).toBeInstanceOf(AppPlugin);
    expect(plugin.configPages?.map((p) => p.id)).toEqual(['settings']);
  });

  test('an org where the app is not enabled: init tracks nothing (the tracker is not even loaded)', async () => {
    plugin.init(meta({}, false));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(model.loads).toBe(0);
    expect(pageHub(unusedLoader, 'test').debugInfo()).toBeUndefined();
  });

  test('init with the settings tracks every dashboard, with the app as the host; the panel joins the same hub', async () => {
    plugin.init(meta({ heartbeatIntervalSeconds: 5 }));
    // The panel's module asks for the hub with its own loader: it gets the app's.
    const hub = pageHub(unusedLoader, 'test');
    const tracker = await hub.ready();
    expect(tracker?.debugInfo()).toMatchObject({ host: 'app', dashboardUid: 'sales' });
    expect(model.loads).toBe(1);
  });
});
