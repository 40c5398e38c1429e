/**
 * The built app (packages/app/dist) end to end, in real Chromium, on the Grafana 11.6, 12.4 and 13.2
 * module sets: preloaded as Grafana's boot does it (settings, then module.js, then `init(meta)`), no
 * panel anywhere, dashboards loaded as Grafana loads them (`dashboard-view`, then URL sync), sending
 * through the README's proxy rule to a real collector. Assertions are on what the collector exposes
 * to Prometheus and on what the browser sent. Each test uses its own dashboard uids.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import type { AnyVariableSpec, DataRequestSpec, DashboardRef } from './browser/host/harness-api.ts';
import { hidePage, launchChromium, showPage, type RunningChromium } from './support/chromium.ts';
import { spawnCollector, type CollectorProcess } from './support/collector.ts';
import { scrape, sumOf, type Sample } from './support/exposition.ts';
import { openAppPage, remoteHarness, trackerLoaded, type AppPage } from './support/harness-page.ts';
import {
  PLUGIN_PATH,
  pluginPath,
  startHarnessServer,
  type HarnessServer,
  type SavedDashboard,
} from './support/harness-server.ts';
import { REPO_ROOT, SHARED_MODULE_SETS } from './support/shared-module-sets.ts';

const APP_DIST = join(REPO_ROOT, 'packages/app/dist');
const PANEL_DIST = join(REPO_ROOT, 'packages/panel/dist');
const APP_MODULE = `${pluginPath('footfall-app')}/module.js`;
/** Short timers so a test sees heartbeats and exports in a few seconds. */
const SETTINGS = { heartbeatIntervalSeconds: 1, exportIntervalSeconds: 1 };
const PERSONAL = ['user.login', 'user.name', 'user.email', 'user.id', 'alice@example.com', 'Alice Example'];
const QUERY: DataRequestSpec = {
  datasourceType: 'prometheus',
  datasourceUid: 'prom',
  datasourceName: 'Prometheus',
  duration: 250,
};

const M = {
  sessions: 'grafana_analytics_sessions_total',
  heartbeats: 'footfall_dashboard_heartbeats_total',
  engaged: 'footfall_dashboard_engaged_seconds_total',
  durationCount: 'footfall_dashboard_session_duration_seconds_count',
  variables: 'footfall_dashboard_variable_selections_total',
  queries: 'footfall_dashboard_queries_total',
  queryErrors: 'footfall_dashboard_query_errors_total',
} as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const eventually = <T>(check: () => Promise<T>, timeout = 10_000): Promise<T> =>
  vi.waitFor(check, { timeout, interval: 150 });

/** The dashboards every test's server knows, for Grafana's search (the app's lookup of a missed `dashboard-view`). */
function dashboardsOf(prefix: string): { first: DashboardRef & SavedDashboard; second: DashboardRef & SavedDashboard } {
  return {
    first: { uid: `${prefix}-first`, title: 'Checkout latency', folderTitle: 'Team A' },
    second: { uid: `${prefix}-second`, title: 'Node exporter' },
  };
}

describe.each(SHARED_MODULE_SETS)('the built app on $name shared modules', { concurrent: true }, (set) => {
  const scenario = (name: string, fn: () => Promise<void>) => test(name, { concurrent: false, timeout: 120_000 }, fn);
  let chrome: RunningChromium;
  let collector: CollectorProcess;
  const servers: HarnessServer[] = [];
  const pages: Page[] = [];

  beforeAll(async () => {
    [chrome, collector] = await Promise.all([launchChromium(), spawnCollector()]);
  });

  afterEach(async () => {
    await Promise.all(pages.splice(0).map((page) => page.close().catch(() => undefined)));
  });

  afterAll(async () => {
    await chrome?.close();
    await Promise.all(servers.map((s) => s.close()));
    await collector?.stop();
  });

  async function serve(prefix: string, options: { panel?: boolean } = {}): Promise<HarnessServer> {
    const { first, second } = dashboardsOf(prefix);
    const server = await startHarnessServer({
      set,
      ...(options.panel ? { pluginDir: PANEL_DIST } : {}),
      apps: [{ dir: APP_DIST, jsonData: SETTINGS }],
      dashboards: [first, second],
      upstream: collector.url,
    });
    servers.push(server);
    return server;
  }

  async function open(
    server: HarnessServer,
    path: string,
    options: Parameters<typeof openAppPage>[3] = {}
  ): Promise<AppPage> {
    const opened = await openAppPage(chrome.context, server, path, options);
    pages.push(opened.page);
    if (options.awaitPreload !== false) {
      await trackerLoaded(opened.page);
    }
    return opened;
  }

  async function samples(): Promise<Sample[]> {
    return (await scrape(collector.url)).samples;
  }

  const value = async (name: string, labels: Record<string, string>) => sumOf(await samples(), name, labels);

  /** Closes the tab as a user does; the end travels with the pagehide flush. */
  async function closeTab(page: Page): Promise<void> {
    await page.close({ runBeforeUnload: true });
  }

  scenario(
    'dashboard → other dashboard → Explore → first dashboard → close: sessions, seconds, queries and folder, none for Explore, nothing personal',
    async () => {
      const server = await serve(`${set.name}-journey`);
      const { first, second } = dashboardsOf(`${set.name}-journey`);
      // A cold load: Grafana loads the dashboard (and fires its `dashboard-view`) before the app's module arrives.
      const held = server.hold(APP_MODULE);
      const { page, harness } = await open(server, `/d/${first.uid}/checkout-latency?orgId=1`, { awaitPreload: false });
      await harness.loadDashboard({ dashboard: first, variables: [{ name: 'env', values: ['prod'] }] });
      await held.arrived;
      held.release();
      expect(await harness.appPreloads()).toEqual([{ id: 'footfall-app', outcome: 'loaded' }]);
      await trackerLoaded(page);

      await harness.emitDataRequest({ ...QUERY, totalQueries: 2 });
      await harness.emitDataRequest({ ...QUERY, error: 'Bad Gateway' });
      await sleep(1_500);
      await harness.visitDashboard({ dashboard: second });
      await harness.emitDataRequest({ ...QUERY, datasourceType: 'loki' });
      await sleep(1_200);
      harness.visitExplore();
      await harness.emitDataRequest({ ...QUERY });
      await sleep(1_200);
      await harness.visitDashboard({ dashboard: first });
      await sleep(1_200);
      expect(await harness.errors()).toEqual([]);
      await closeTab(page);

      const inFirst = { dashboard_uid: first.uid };
      const inSecond = { dashboard_uid: second.uid };
      await eventually(async () => expect(await value(M.durationCount, inFirst)).toBe(2));
      const all = await samples();
      expect(sumOf(all, M.sessions, inFirst)).toBe(2);
      expect(sumOf(all, M.sessions, inSecond)).toBe(1);
      // The first dashboard's `dashboard-view` was missed: its title and folder came from Grafana's search.
      expect(sumOf(all, M.sessions, { ...inFirst, dashboard_name: first.title, dashboard_folder: 'Team A' })).toBe(2);
      expect(sumOf(all, M.sessions, { ...inSecond, dashboard_name: second.title })).toBe(1);
      // The General folder: no folder label at all.
      expect(
        all.filter((s) => s.labels['dashboard_uid'] === second.uid && s.labels['dashboard_folder'] !== undefined)
      ).toEqual([]);
      expect(sumOf(all, M.durationCount, inSecond)).toBe(1);
      expect(sumOf(all, M.engaged, inFirst)).toBeGreaterThan(1.5);
      expect(sumOf(all, M.engaged, inSecond)).toBeGreaterThan(0.5);
      expect(sumOf(all, M.queries, inFirst)).toBe(3);
      expect(sumOf(all, M.queryErrors, inFirst)).toBe(1);
      expect(sumOf(all, M.queries, { ...inSecond, datasource_type: 'loki' })).toBe(1);
      // Explore is not a dashboard: no session, and its query is nobody's.
      const queriesOutside = all.filter(
        (s) =>
          s.name === M.queries && s.labels['dashboard_uid'] !== first.uid && s.labels['dashboard_uid'] !== second.uid
      );
      expect(queriesOutside).toEqual([]);
      expect(
        sumOf(all, M.variables, { ...inFirst, variable_name: 'env', variable_value: 'prod' })
      ).toBeGreaterThanOrEqual(1);
      // No login, name, e-mail or user id on the wire with default settings.
      const wire = server.requests.map((r) => r.body.toString('utf8')).join('\n');
      expect(server.requests.length).toBeGreaterThan(0);
      for (const personal of PERSONAL) {
        expect(wire).not.toContain(personal);
      }
    }
  );

  scenario('a reload is one session and one duration observation', async () => {
    const server = await serve(`${set.name}-reload`);
    const { first } = dashboardsOf(`${set.name}-reload`);
    const { page, harness } = await open(server, `/d/${first.uid}/checkout-latency?orgId=1`);
    await harness.loadDashboard({ dashboard: first });
    await sleep(1_500);
    await page.reload({ waitUntil: 'domcontentloaded' });
    const again = remoteHarness(page);
    await again.appPreloads();
    await trackerLoaded(page);
    await again.loadDashboard({ dashboard: first });
    await sleep(1_500);
    await closeTab(page);
    const inFirst = { dashboard_uid: first.uid };
    await eventually(async () => expect(await value(M.engaged, inFirst)).toBeGreaterThan(2.5));
    await sleep(1_000);
    expect(await value(M.sessions, inFirst)).toBe(1);
    expect(await value(M.durationCount, inFirst)).toBe(1);
  });

  scenario('a hidden tab earns hidden seconds and no heartbeats, and keeps its session', async () => {
    const server = await serve(`${set.name}-hide`);
    const { first } = dashboardsOf(`${set.name}-hide`);
    const { page, harness } = await open(server, `/d/${first.uid}/checkout-latency?orgId=1`);
    await harness.loadDashboard({ dashboard: first });
    const inFirst = { dashboard_uid: first.uid };
    await eventually(async () => expect(await value(M.heartbeats, inFirst)).toBeGreaterThanOrEqual(1));
    await hidePage(page);
    await sleep(500);
    const before = await eventually(async () => {
      const v = await value(M.heartbeats, inFirst);
      await sleep(1_200);
      expect(await value(M.heartbeats, inFirst)).toBe(v);
      return v;
    });
    await sleep(1_500);
    expect(await value(M.heartbeats, inFirst)).toBe(before);
    await showPage(page);
    await eventually(async () => expect(await value(M.heartbeats, inFirst)).toBeGreaterThan(before));
    expect(await value(M.engaged, { ...inFirst, engagement_state: 'hidden' })).toBeGreaterThan(1.5);
    expect(await value(M.sessions, inFirst)).toBe(1);
  });

  scenario('a collector outage: every count arrives once it is back, none twice', async () => {
    const server = await serve(`${set.name}-outage`);
    const { first } = dashboardsOf(`${set.name}-outage`);
    const { page, harness } = await open(server, `/d/${first.uid}/checkout-latency?orgId=1`);
    server.setMode('down');
    await harness.loadDashboard({ dashboard: first });
    for (let i = 0; i < 3; i++) {
      await harness.emitDataRequest({ ...QUERY, ...(i === 1 ? { error: 'timeout' } : {}) });
      await sleep(700);
    }
    await eventually(async () =>
      expect(server.requests.filter((r) => r.status === 502).length).toBeGreaterThanOrEqual(2)
    );
    server.setMode('up');
    const inFirst = { dashboard_uid: first.uid };
    await eventually(async () => expect(await value(M.queries, inFirst)).toBe(3));
    await sleep(2_500);
    expect(await value(M.queries, inFirst)).toBe(3);
    expect(await value(M.queryErrors, inFirst)).toBe(1);
    expect(await value(M.sessions, inFirst)).toBe(1);
    await closeTab(page);
  });

  scenario("the app and the panel on one page: one session per dashboard, the app's settings", async () => {
    const server = await serve(`${set.name}-both`, { panel: true });
    const { first } = dashboardsOf(`${set.name}-both`);
    const { page, harness } = await open(server, `/d/${first.uid}/checkout-latency?orgId=1`);
    await harness.loadDashboard({ dashboard: first });
    await harness.load(`${PLUGIN_PATH}/module.js`);
    // The panel asks for a slow heartbeat; the app's one-second settings win.
    await harness.mount({
      dashboard: first,
      options: { heartbeatIntervalSeconds: 3600, exportIntervalSeconds: 3600 },
      instances: 2,
    });
    const inFirst = { dashboard_uid: first.uid };
    await eventually(async () => expect(await value(M.heartbeats, inFirst)).toBeGreaterThanOrEqual(2));
    await closeTab(page);
    await eventually(async () => expect(await value(M.durationCount, inFirst)).toBe(1));
    expect(await value(M.sessions, inFirst)).toBe(1);
  });

  scenario('ad-hoc filter values, constants, text boxes and hidden variables never reach /metrics', async () => {
    const server = await serve(`${set.name}-vars`);
    const { first } = dashboardsOf(`${set.name}-vars`);
    const { page, harness } = await open(server, `/d/${first.uid}/checkout-latency?orgId=1`);
    const variables: AnyVariableSpec[] = [
      { name: 'env', values: ['prod'] },
      {
        name: 'Filters',
        type: 'adhoc',
        filters: [{ key: 'trace_id', operator: '=', value: '4bf92f3577b34da6a3ce929d0e0e4736' }],
      },
      { name: 'owner', type: 'textbox', values: ['alice@example.com'] },
      { name: 'region', type: 'constant', values: ['eu-west-1-secret'] },
      { name: 'tenant', values: ['hidden-tenant'], hide: 2 },
    ];
    await harness.loadDashboard({ dashboard: first, variables });
    await sleep(1_500);
    await closeTab(page);
    const inFirst = { dashboard_uid: first.uid };
    await eventually(async () => expect(await value(M.durationCount, inFirst)).toBe(1));
    const { text } = await scrape(collector.url);
    expect(await value(M.variables, { ...inFirst, variable_name: 'env', variable_value: 'prod' })).toBe(1);
    expect(await value(M.variables, { ...inFirst, variable_name: 'Filters', variable_value: 'trace_id' })).toBe(1);
    for (const secret of [
      '4bf92f3577b34da6a3ce929d0e0e4736',
      'alice@example.com',
      'eu-west-1-secret',
      'hidden-tenant',
    ]) {
      expect(text).not.toContain(secret);
    }
    const wire = server.requests.map((r) => r.body.toString('utf8')).join('\n');
    for (const secret of ['4bf92f3577b34da6a3ce929d0e0e4736', 'eu-west-1-secret', 'hidden-tenant']) {
      expect(wire).not.toContain(secret);
    }
  });

  scenario('image-renderer loads (render=1, /d-solo/) count nothing', async () => {
    const server = await serve(`${set.name}-render`);
    const { first, second } = dashboardsOf(`${set.name}-render`);
    const solo = await open(server, `/d-solo/${first.uid}/checkout-latency?orgId=1&panelId=2&render=1`, {
      render: true,
    });
    await solo.harness.loadDashboard({ dashboard: first });
    await solo.harness.emitDataRequest(QUERY);
    const full = await open(server, `/d/${second.uid}/node-exporter?orgId=1&render=1`, { render: true });
    await full.harness.loadDashboard({ dashboard: second });
    await sleep(2_500);
    await closeTab(solo.page);
    await closeTab(full.page);
    await sleep(1_000);
    const all = await samples();
    expect(
      all.filter((s) => s.labels['dashboard_uid'] === first.uid || s.labels['dashboard_uid'] === second.uid)
    ).toEqual([]);
    expect(server.requests).toEqual([]);
  });
});
