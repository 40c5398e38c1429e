/**
 * The app's module as Grafana's preloader uses it: import, then `plugin.init(meta)` with the app's
 * settings DTO. On jsdom with the real @grafana/runtime; the hub loads the tracker through the
 * SystemJS stand-in of test-setup.ts.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { AppPlugin, PluginType, type AppPluginMeta } from '@grafana/data';
import { locationService } from '@grafana/runtime';
import { pageHub, systemJsLoader } from '@footfall/browser/hub.ts';
import { installDeliveringEchoSrv } from '@footfall/browser/testing/echo.ts';
import { resetGrafana } from '@footfall/browser/testing/grafana.ts';
import { plugin, type FootfallJsonData } from './module.ts';

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
    const system = (globalThis as unknown as { System: { import(url: string): Promise<unknown> } }).System;
    const imports = vi.spyOn(system, 'import');
    plugin.init(meta({}, false));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(imports).not.toHaveBeenCalled();
    expect(pageHub(systemJsLoader('unused'), 'test').debugInfo()).toBeUndefined();
    imports.mockRestore();
  });

  test('init with the settings tracks every dashboard, with the app as the host; the panel joins the same hub', async () => {
    plugin.init(meta({ heartbeatIntervalSeconds: 5 }));
    // The panel's module asks for the hub with its own loader: it gets the app's.
    const hub = pageHub(systemJsLoader('unused'), 'test');
    const tracker = await hub.ready();
    expect(tracker?.debugInfo()).toMatchObject({ host: 'app', dashboardUid: 'sales' });
  });
});
