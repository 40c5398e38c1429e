/**
 * The browser harness for app plugins: on every shared-module set, a hand-written probe app
 * (test/browser/fixtures/probe-app) is preloaded the way Grafana's boot preloads apps, and sees what
 * Grafana shows a preloaded app — its settings' jsonData in `init(meta)`, navigation through
 * `locationService`, `dashboard-view` and `data-request` through an Echo backend registered at its
 * top level — and nothing of what happened before it was imported.
 */
// page.evaluate callbacks run in the page, with its DOM:
/// <reference lib="dom" />
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import type { DataRequestSpec } from './browser/host/harness-api.ts';
import type { AppPluginOptions } from './support/app-plugins.ts';
import { launchChromium, type RunningChromium } from './support/chromium.ts';
import { openAppPage, type AppPageOptions } from './support/harness-page.ts';
import { PLUGIN_PATH, pluginPath, startHarnessServer, type HarnessServer } from './support/harness-server.ts';
import { installedVersion, REPO_ROOT, SHARED_MODULE_SETS, type SharedModuleSet } from './support/shared-module-sets.ts';

const PROBE_APP = join(REPO_ROOT, 'test/browser/fixtures/probe-app');
const PROBE_PANEL = join(REPO_ROOT, 'test/browser/fixtures/probe-panel');
const APP_DIST = join(REPO_ROOT, 'packages/app/dist');
const APP_ID = 'footfall-probe-app';
const APP_PATH = pluginPath(APP_ID);
const SETTINGS_URL = `/grafana/api/plugins/${APP_ID}/settings`;
const PRELOAD_FAILURE = `[Plugins] Failed to preload plugin: public/plugins/${APP_ID}/module.js (version: 1.2.3)`;
const JSON_DATA = { collectorPath: '/grafana/footfall', variableAllowList: ['env'] };
const QUERY: DataRequestSpec = {
  datasourceType: 'prometheus',
  datasourceUid: 'prom',
  datasourceName: 'Prometheus',
  duration: 120,
};
const FIRST = { uid: 'first', title: 'First dashboard', folderTitle: 'Team A', id: 7 };

/** What the probe app recorded on `window.footfallProbeApp` (see its module.js). */
interface ProbeRecord {
  readonly evaluations: number;
  readonly moduleUri: string;
  readonly react: string;
  readonly inits: ReadonlyArray<{ readonly meta: Record<string, unknown>; readonly metaSetBefore: boolean }>;
  readonly locations: ReadonlyArray<{ readonly pathname: string; readonly search: string }>;
  readonly events: ReadonlyArray<{
    readonly type: string;
    readonly payload: Record<string, unknown>;
    readonly url: string;
    readonly pathname: string;
    readonly search: string;
    readonly variables: readonly string[];
  }>;
  readonly model?: { readonly uri: string };
  readonly modelError?: string;
  readonly metaSetAfter?: boolean;
}

let chrome: RunningChromium;
const servers: HarnessServer[] = [];
const pages: Page[] = [];

beforeAll(async () => {
  chrome = await launchChromium();
});

afterEach(async () => {
  await Promise.all(pages.splice(0).map((page) => page.close().catch(() => undefined)));
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await chrome?.close();
});

async function serve(set: SharedModuleSet, app: Partial<AppPluginOptions> = {}): Promise<HarnessServer> {
  const server = await startHarnessServer({
    set,
    pluginDir: PROBE_PANEL,
    apps: [{ dir: PROBE_APP, jsonData: JSON_DATA, ...app }],
  });
  servers.push(server);
  return server;
}

async function open(server: HarnessServer, path: string, options?: AppPageOptions) {
  const opened = await openAppPage(chrome.context, server, path, options);
  pages.push(opened.page);
  return opened;
}

function probe(page: Page): Promise<ProbeRecord | undefined> {
  return page.evaluate(() => (globalThis as unknown as { footfallProbeApp?: ProbeRecord }).footfallProbeApp);
}

/** The page's `getTemplateSrv().getVariables()` and `config.bootData.user`, read through the shared @grafana/runtime. */
function pageRuntime(
  page: Page
): Promise<{ variables: Array<Record<string, unknown>>; user: Record<string, unknown> }> {
  return page.evaluate(async () => {
    const system = (globalThis as unknown as { System: { import(id: string): Promise<Record<string, unknown>> } })
      .System;
    const runtime = (await system.import('@grafana/runtime')) as {
      getTemplateSrv(): { getVariables(): Array<Record<string, unknown>> };
      config: { bootData: { user: Record<string, unknown> } };
    };
    return { variables: runtime.getTemplateSrv().getVariables(), user: runtime.config.bootData.user };
  });
}

/** The path part of the server's Grafana request log, in order, e.g. `GET /grafana/api/... 200`. */
function traffic(server: HarnessServer): string[] {
  return server.grafanaRequests.map((r) => `${r.method} ${r.url} ${r.status}`);
}

describe.each(SHARED_MODULE_SETS)('$name shared modules', (set) => {
  const react = installedVersion(set, 'react');
  const grafana = installedVersion(set, '@grafana/data');
  const before13 = Number(grafana.split('.')[0]) < 13;

  test('the app is preloaded at boot: settings, then its module; init(meta) gets jsonData; its own files load by URL; no panel', async () => {
    const server = await serve(set);
    const { page, harness, consoleErrors } = await open(server, '/d/cold/cold-dashboard');

    expect(await harness.appPreloads()).toEqual([{ id: APP_ID, outcome: 'loaded' }]);
    const versions = await harness.versions();
    expect(versions).toMatchObject({ react, grafana });
    // react-dom 18.3.1's production build calls itself 18.3.1-next-<commit>-<date>.
    expect(versions.reactDom.startsWith(react)).toBe(true);
    expect(Number(react.split('.')[0])).toBe(set.reactMajor);
    expect(grafana).toMatch({ 'grafana-13': /^13\.2\./, 'grafana-12': /^12\.4\./, 'grafana-11': /^11\.6\./ }[set.name]);

    const record = (await vi.waitFor(async () => {
      const current = await probe(page);
      expect(current?.model).toBeDefined();
      return current;
    }))!;
    expect(record.evaluations).toBe(1);
    expect(record.react).toBe(react);
    expect(record.inits).toHaveLength(1);
    expect(record.inits[0]!.meta).toMatchObject({
      id: APP_ID,
      type: 'app',
      name: 'footfall probe app',
      enabled: true,
      pinned: true,
      module: `public/plugins/${APP_ID}/module.js`,
      baseUrl: `public/plugins/${APP_ID}`,
      info: { version: '1.2.3' },
      jsonData: JSON_DATA,
    });
    // Grafana sets plugin.meta after init returns.
    expect(record.inits[0]!.metaSetBefore).toBe(false);
    expect(record.metaSetAfter).toBe(true);
    expect(record.moduleUri).toBe(`${server.url}${APP_PATH}/module.js?_cache=1.2.3`);
    expect(record.model).toEqual({ uri: `${server.url}${APP_PATH}/model.js` });
    expect(traffic(server)).toEqual([
      `GET ${SETTINGS_URL} 200`,
      `GET ${APP_PATH}/module.js?_cache=1.2.3 200`,
      `GET ${APP_PATH}/model.js 200`,
    ]);
    expect(await page.locator('.panel-container').count()).toBe(0);

    // The panel's folder is served beside the app's, and both plugins run on one page.
    await harness.load(`${PLUGIN_PATH}/module.js`);
    await harness.mount({ dashboard: { uid: 'cold', title: 'Cold dashboard' } });
    expect(await page.locator('.footfall-probe').getAttribute('data-react-version')).toBe(react);
    expect(await harness.errors()).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });

  test('without plugins.app:access the settings answer 403: the module is never imported, the failure is logged, the page works', async () => {
    const server = await serve(set, { access: false });
    const { page, harness, consoleErrors } = await open(server, '/d/first/first-dashboard');

    expect(await harness.appPreloads()).toEqual([
      { id: APP_ID, outcome: 'failed', error: 'FetchError: 403 Access Denied' },
    ]);
    expect(traffic(server)).toEqual([`GET ${SETTINGS_URL} 403`]);
    expect(await probe(page)).toBeUndefined();
    expect(consoleErrors.filter((text) => text.startsWith('[Plugins]'))).toEqual([
      expect.stringContaining(PRELOAD_FAILURE),
    ]);

    await harness.loadDashboard({ dashboard: FIRST });
    expect((await harness.location()).search).toBe('?orgId=1&from=now-6h&to=now&timezone=browser');
    expect(await harness.errors()).toEqual([]);

    // The answer as Grafana gives it.
    const answer = await page.evaluate(async (url) => {
      const response = await fetch(url);
      return { status: response.status, body: (await response.json()) as unknown };
    }, SETTINGS_URL);
    expect(answer).toEqual({ status: 403, body: { message: 'Access Denied' } });

    // Granted access, the next full page load preloads the app.
    server.updateApp(APP_ID, { access: true });
    await page.reload({ waitUntil: 'domcontentloaded' });
    expect(await harness.appPreloads()).toEqual([{ id: APP_ID, outcome: 'loaded' }]);
    expect((await probe(page))?.inits.map((init) => init.meta['jsonData'])).toEqual([JSON_DATA]);
  });

  test('an init that throws is caught and logged as Grafana does; the page works', async () => {
    const server = await serve(set, { jsonData: { throwInInit: true } });
    const { harness, consoleErrors } = await open(server, '/d/first/first-dashboard');

    expect(await harness.appPreloads()).toEqual([{ id: APP_ID, outcome: 'failed', error: 'Error: probe init failed' }]);
    expect(consoleErrors.filter((text) => text.startsWith('[Plugins]'))).toEqual([
      expect.stringContaining(PRELOAD_FAILURE),
    ]);
    await harness.loadDashboard({ dashboard: FIRST });
    expect(await harness.errors()).toEqual([]);
  });

  test('the app follows navigation and receives dashboard-view and data-request from its top-level Echo backend', async () => {
    const server = await serve(set);
    const { page, harness } = await open(server, '/d/first/first-dashboard?var-env=staging');

    await harness.loadDashboard({
      dashboard: FIRST,
      variables: [
        { name: 'env', values: ['prod'] },
        { name: 'instance', type: 'query', values: ['a', 'b'] },
        { name: 'region', type: 'constant', values: ['eu'] },
        { name: 'note', type: 'textbox', values: ['hi'], hide: 1 },
        { name: 'filters', type: 'adhoc', filters: [{ key: 'job', operator: '=', value: 'api|x' }], hide: 2 },
      ],
    });
    const loaded = await harness.location();
    expect(loaded.pathname).toBe('/d/first/first-dashboard');
    expect(new URLSearchParams(loaded.search).toString()).toBe(
      new URLSearchParams([
        ['var-env', 'staging'],
        ['orgId', '1'],
        ['from', 'now-6h'],
        ['to', 'now'],
        ['timezone', 'browser'],
        ['var-instance', 'a'],
        ['var-instance', 'b'],
        ['var-note', 'hi'],
        ['var-filters', 'job|=|api__gfp__x'],
      ]).toString()
    );
    const { variables } = await pageRuntime(page);
    // Scenes' saved-model shape: hide 0, multi false and skipUrlSync false are left out.
    expect(variables).toEqual([
      {
        name: 'env',
        type: 'custom',
        current: { text: 'staging', value: 'staging' },
        options: [{ text: 'staging', value: 'staging', selected: true }],
        query: 'staging',
        includeAll: false,
      },
      expect.objectContaining({
        name: 'instance',
        type: 'query',
        multi: true,
        current: { text: ['a', 'b'], value: ['a', 'b'] },
      }),
      { name: 'region', type: 'constant', current: { text: 'eu', value: 'eu' }, query: 'eu', hide: 2 },
      expect.objectContaining({ name: 'note', type: 'textbox', hide: 1, current: { text: 'hi', value: 'hi' } }),
      expect.objectContaining({
        name: 'filters',
        type: 'adhoc',
        hide: 2,
        filters: [{ key: 'job', operator: '=', value: 'api|x' }],
      }),
    ]);
    expect(variables[0]).not.toHaveProperty('hide');

    expect(await harness.emitDataRequest({ ...QUERY, panelPluginId: 'timeseries' })).toBe(true);
    await harness.visitDashboard({
      dashboard: { uid: 'second', title: 'Second dashboard' },
      search: '?from=now-1h&to=now',
    });
    expect(await harness.location()).toMatchObject({
      pathname: '/d/second/second-dashboard',
      search: '?from=now-1h&to=now&orgId=1&timezone=browser',
    });
    await harness.visitExplore({ datasourceUid: 'prom', expr: 'rate(http_requests_total[5m])' });
    expect(await harness.emitDataRequest({ ...QUERY, error: 'bad query' })).toBe(true);
    await harness.visit('/alerting/list');
    // Grafana sends no data-request while a panel is being edited.
    await harness.navigate('/d/second/second-dashboard?editPanel=2');
    expect(await harness.emitDataRequest(QUERY)).toBe(false);

    const record = (await probe(page))!;
    expect(record.events.map((e) => [e.type, e.payload['eventName'], e.pathname])).toEqual([
      ['meta-analytics', 'dashboard-view', '/d/first/first-dashboard'],
      ['meta-analytics', 'data-request', '/d/first/first-dashboard'],
      ['meta-analytics', 'dashboard-view', '/d/second/second-dashboard'],
      ['meta-analytics', 'data-request', '/explore'],
    ]);
    const [view, dashboardQuery, secondView, exploreQuery] = record.events;
    expect(view!.payload).toEqual({
      eventName: 'dashboard-view',
      ...(before13 ? { dashboardId: 7 } : {}),
      dashboardUid: 'first',
      dashboardName: 'First dashboard',
      folderName: 'Team A',
    });
    // dashboard-view comes before Scenes renders the dashboard: the URL is still the link's, and
    // the template service has no variables yet.
    expect(view!.search).toBe('?var-env=staging');
    expect(view!.variables).toEqual([]);
    expect(view!.url).toBe(`${server.url}/grafana/d/first/first-dashboard?var-env=staging`);
    expect(dashboardQuery!.payload).toEqual({
      eventName: 'data-request',
      source: 'dashboard',
      datasourceName: 'Prometheus',
      datasourceId: 1,
      datasourceUid: 'prom',
      datasourceType: 'prometheus',
      dataSize: 1,
      panelId: 1,
      panelPluginId: 'timeseries',
      duration: 120,
      totalQueries: 1,
      cachedQueries: 0,
      ...(before13 ? { dashboardId: 7 } : {}),
      dashboardUid: 'first',
      dashboardName: 'First dashboard',
      folderName: 'Team A',
    });
    expect(dashboardQuery!.variables).toEqual(['env', 'instance', 'region', 'note', 'filters']);
    expect(secondView!.payload).toMatchObject({ dashboardUid: 'second', dashboardName: 'Second dashboard' });
    expect(secondView!.variables).toEqual([]);
    // Explore: no dashboard, and Grafana reports no error there.
    expect(exploreQuery!.payload).toMatchObject({ source: 'explore', panelId: 0 });
    expect(exploreQuery!.payload).not.toHaveProperty('dashboardUid');
    expect(exploreQuery!.payload).not.toHaveProperty('error');

    // Pages in the order visited (URL sync on a page replaces its entry, which the app sees too).
    const pages = record.locations.map((l) => l.pathname).filter((pathname, i, all) => pathname !== all[i - 1]);
    expect(pages).toEqual([
      '/d/first/first-dashboard',
      '/d/second/second-dashboard',
      '/explore',
      '/alerting/list',
      '/d/second/second-dashboard',
    ]);
    const explore = record.locations.find((l) => l.pathname === '/explore')!;
    const panes = JSON.parse(new URLSearchParams(explore.search).get('panes')!) as Record<
      string,
      { queries: Array<{ expr: string }> }
    >;
    expect(Object.values(panes)[0]!.queries[0]!.expr).toBe('rate(http_requests_total[5m])');
    expect(await harness.errors()).toEqual([]);
  });

  test('a cold load: what happens before the module is imported is not replayed to it', async () => {
    const server = await serve(set);
    const held = server.hold(`${APP_PATH}/module.js`);
    const { page, harness } = await open(server, '/d/first/first-dashboard', { awaitPreload: false });
    await held.arrived;

    // The dashboard loads and its first queries run while the module is still on the wire.
    await harness.loadDashboard({ dashboard: FIRST, variables: [{ name: 'env', values: ['prod'] }] });
    await harness.emitDataRequest(QUERY);
    expect(await probe(page)).toBeUndefined();
    held.release();
    expect(await harness.appPreloads()).toEqual([{ id: APP_ID, outcome: 'loaded' }]);

    const record = (await probe(page))!;
    expect(record.events).toEqual([]);
    // What the app can bootstrap from: the location it is handed on subscribe, already synced.
    expect(record.locations).toEqual([
      { pathname: '/d/first/first-dashboard', search: '?orgId=1&from=now-6h&to=now&timezone=browser&var-env=prod' },
    ]);
    expect(traffic(server).slice(0, 2)).toEqual([
      `GET ${SETTINGS_URL} 200`,
      `GET ${APP_PATH}/module.js?_cache=1.2.3 200`,
    ]);

    await harness.emitDataRequest(QUERY);
    expect((await probe(page))!.events.map((e) => e.payload['eventName'])).toEqual(['data-request']);
  });

  const SOLO =
    '/d-solo/first/first-dashboard?orgId=1&panelId=2&from=1700000000000&to=1700003600000&width=1000&height=500&tz=UTC&render=1';

  test('an image-renderer session (/d-solo/, render=1, authenticatedBy render) loads apps', async () => {
    const server = await serve(set);
    const { page, harness } = await open(server, SOLO, { render: true });
    expect(await harness.appPreloads()).toEqual([{ id: APP_ID, outcome: 'loaded' }]);
    expect((await pageRuntime(page)).user).toMatchObject({ authenticatedBy: 'render' });
    expect(await harness.location()).toMatchObject({ pathname: '/d-solo/first/first-dashboard' });
  });

  test('with rendererDisableAppPluginsPreload on, a render session skips apps on 11.6 to 13.0 and loads them on 13.1+', async () => {
    const server = await serve(set);
    const { harness } = await open(server, SOLO, {
      render: true,
      bootData: { settings: { featureToggles: { rendererDisableAppPluginsPreload: true } } },
    });
    expect(await harness.appPreloads()).toEqual([{ id: APP_ID, outcome: before13 ? 'skipped' : 'loaded' }]);
    expect(traffic(server).filter((line) => line.includes(SETTINGS_URL))).toHaveLength(before13 ? 0 : 1);
  });

  test('a user without an org role gets no app preload, and no settings request', async () => {
    const server = await serve(set);
    const { page, harness } = await open(server, '/d/first/first-dashboard', { bootData: { user: { orgRole: '' } } });
    expect(await harness.appPreloads()).toEqual([{ id: APP_ID, outcome: 'skipped' }]);
    expect(await probe(page)).toBeUndefined();
    expect(traffic(server)).toEqual([]);
  });

  test.runIf(existsSync(join(APP_DIST, 'module.js')))(
    'the built app (packages/app/dist) preloads and lives through a dashboard without an error',
    async () => {
      const server = await startHarnessServer({ set, apps: [{ dir: APP_DIST }] });
      servers.push(server);
      const { harness, consoleErrors } = await open(server, '/d/first/first-dashboard');

      expect(await harness.appPreloads()).toEqual([{ id: expect.any(String), outcome: 'loaded' }]);
      await harness.loadDashboard({ dashboard: FIRST, variables: [{ name: 'env', values: ['prod'] }] });
      await harness.emitDataRequest(QUERY);
      await harness.visitExplore();
      expect(await harness.errors()).toEqual([]);
      expect(consoleErrors.filter((text) => text.startsWith('[Plugins]'))).toEqual([]);
    }
  );
});
