/**
 * The tracker as the app drives it (zero-touch): no panel anywhere, every dashboard the location shows
 * is tracked, Grafana's `dashboard-view` and `data-request` events name each dashboard's title and
 * folder. On jsdom, with the real @grafana/runtime location service and Echo service.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { EchoEventType, getEchoSrv, locationService } from '@grafana/runtime';
import { ATTR, METRIC } from './names.ts';
import { installDeliveringEchoSrv } from './testing/echo.ts';
import { resetGrafana } from './testing/grafana.ts';
import { histogramOf, pointsOf, totalOf } from './testing/otlp.ts';
import { createTestPage, useFakeClock } from './testing/page.ts';
import { createRecordingFetch, type RecordingFetch } from './testing/recording-fetch.ts';
import { closeTestTabs, openTestTab, type TestTab } from './testing/tab.ts';
import { createPageTracker, LOOKUP_DELAY_MS, type Platform } from './tracker.ts';
import type { DashboardIdentity } from './machine.ts';

const SECOND = 1000;
const SALES = { uid: 'sales', title: 'Sales overview', folder: 'Business' };
const INFRA = { uid: 'infra', title: 'Infra', folder: '' };
const PERSONAL = ['user.login', 'user.name', 'user.email', 'user.id', 'enduser.id'];

function openTab(
  options: {
    net?: RecordingFetch;
    lookup?: Platform['lookup'];
    renderer?: boolean;
    jsonData?: Record<string, unknown>;
  } = {}
): TestTab {
  const tab = openTestTab(options.net, {
    ...(options.lookup ? { lookup: options.lookup } : {}),
    renderer: options.renderer === true,
  });
  tab.tracker.enableZeroTouch({ heartbeatIntervalSeconds: 10, exportIntervalSeconds: 60, ...options.jsonData });
  // What the page hub does for the tracker it loaded.
  getEchoSrv().addBackend({
    supportedEvents: [EchoEventType.MetaAnalytics],
    options: {},
    flush: () => undefined,
    addEvent: (e) => tab.tracker.onEchoEvent(e),
  });
  return tab;
}

/** Grafana loading a dashboard page: the URL first, then (after the dashboard JSON) its `dashboard-view`. */
function openDashboard(d: { uid: string; title: string; folder: string }, search = 'orgId=1&from=now-6h&to=now'): void {
  locationService.push(`/d/${d.uid}/${d.title.toLowerCase().replace(/ /g, '-')}?${search}`);
  dashboardView(d);
}

function dashboardView(d: { uid: string; title: string; folder: string }): void {
  getEchoSrv().addEvent({
    type: EchoEventType.MetaAnalytics,
    payload: {
      eventName: 'dashboard-view',
      dashboardUid: d.uid,
      dashboardName: d.title,
      folderName: d.folder,
      dashboardId: 1,
    },
  });
}

function dataRequest(d: { uid: string; title: string; folder: string }, extra: Record<string, unknown> = {}): void {
  getEchoSrv().addEvent({
    type: EchoEventType.MetaAnalytics,
    payload: {
      eventName: 'data-request',
      source: 'dashboard',
      datasourceType: 'prometheus',
      datasourceUid: 'prom',
      datasourceName: 'Prometheus',
      dashboardUid: d.uid,
      dashboardName: d.title,
      folderName: d.folder,
      panelId: 2,
      duration: 250,
      totalQueries: 2,
      ...extra,
    },
  });
}

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);
const of = (d: { uid: string }) => ({ [ATTR.DASHBOARD_UID]: d.uid });

beforeEach(() => {
  useFakeClock();
  window.sessionStorage.clear();
  resetGrafana();
  installDeliveringEchoSrv();
  locationService.push('/?orgId=1');
});

afterEach(async () => {
  await closeTestTabs();
  vi.useRealTimers();
});

describe('zero-touch', () => {
  test('dashboard → other dashboard → Explore → first dashboard → close: two sessions of the first, one of the second, none for Explore', async () => {
    const tab = openTab();

    openDashboard(SALES);
    dataRequest(SALES);
    dataRequest(SALES, { error: 'bad gateway' });
    await advance(30 * SECOND);
    openDashboard(INFRA);
    dataRequest(INFRA, { totalQueries: 1 });
    await advance(20 * SECOND);
    locationService.push('/explore?left=%7B%7D');
    dataRequest({ uid: '', title: '', folder: '' }, { source: 'explore', dashboardUid: undefined });
    await advance(15 * SECOND);
    openDashboard(SALES);
    await advance(10 * SECOND);
    await tab.page.unload();
    const points = await tab.delivered();

    expect(totalOf(points, METRIC.SESSIONS, of(SALES))).toBe(2);
    expect(totalOf(points, METRIC.SESSIONS, of(INFRA))).toBe(1);
    expect(totalOf(points, METRIC.SESSIONS)).toBe(3);
    // One duration observation a session, each at its end; the last one delivered by the close.
    expect(histogramOf(points, METRIC.SESSION_DURATION, of(SALES))).toMatchObject({ count: 2, sum: 40 });
    expect(histogramOf(points, METRIC.SESSION_DURATION, of(INFRA))).toMatchObject({ count: 1, sum: 20 });
    // Explore is not a dashboard: its 15 seconds are nobody's.
    expect(totalOf(points, METRIC.ENGAGED_TIME)).toBe(60);
    expect(totalOf(points, METRIC.ENGAGED_TIME, of(SALES))).toBe(40);
    expect(totalOf(points, METRIC.QUERIES, of(SALES))).toBe(4); // two requests of two queries each
    expect(totalOf(points, METRIC.QUERY_ERRORS, of(SALES))).toBe(1);
    expect(totalOf(points, METRIC.QUERIES, of(INFRA))).toBe(1);
    expect(totalOf(points, METRIC.QUERIES)).toBe(5);
    // Every point of a dashboard carries its title and folder (the General folder: none).
    for (const p of points.filter((x) => x.attributes[ATTR.DASHBOARD_UID] === SALES.uid)) {
      expect(p.attributes).toMatchObject({ [ATTR.DASHBOARD_NAME]: SALES.title, [ATTR.DASHBOARD_FOLDER]: SALES.folder });
    }
    for (const p of points.filter((x) => x.attributes[ATTR.DASHBOARD_UID] === INFRA.uid)) {
      expect(p.attributes[ATTR.DASHBOARD_NAME]).toBe(INFRA.title);
      expect(p.attributes[ATTR.DASHBOARD_FOLDER]).toBeUndefined();
    }
    // Nothing personal on the wire with default settings.
    const bodies = tab.net.exchanges.map((e) => e.body).join('\n');
    for (const key of PERSONAL) {
      expect(bodies).not.toContain(`"${key}"`);
    }
    expect(bodies).not.toContain('jane.doe');
    expect(tab.tracker.debugInfo().host).toBe('app');
  });

  test("a cold load: the URL starts the session; the missed `dashboard-view`'s title and folder come from the lookup, and nothing is sent without them", async () => {
    locationService.push(`/d/${SALES.uid}/sales-overview?orgId=1&from=now-6h&to=now`);
    const lookups: string[] = [];
    const lookup = async (uid: string): Promise<DashboardIdentity | undefined> => {
      lookups.push(uid);
      return { title: SALES.title, folder: SALES.folder };
    };
    const tab = openTab({ lookup });
    await advance(LOOKUP_DELAY_MS + SECOND);
    await tab.page.unload();
    const points = await tab.delivered();
    expect(lookups).toEqual([SALES.uid]);
    expect(
      totalOf(points, METRIC.SESSIONS, {
        ...of(SALES),
        [ATTR.DASHBOARD_FOLDER]: SALES.folder,
        [ATTR.DASHBOARD_NAME]: SALES.title,
      })
    ).toBe(1);
    // One series per metric: no point went out before the folder was known.
    expect(pointsOf(points, METRIC.SESSIONS).every((p) => p.attributes[ATTR.DASHBOARD_FOLDER] === SALES.folder)).toBe(
      true
    );
    expect(totalOf(points, METRIC.TIME_RANGE_SELECTIONS, { ...of(SALES), [ATTR.TIME_RANGE]: 'now-6h' })).toBe(1);
  });

  test("Grafana's own events make the lookup unnecessary", async () => {
    const lookup = vi.fn(async () => undefined);
    openTab({ lookup });
    locationService.push(`/d/${SALES.uid}/sales-overview?orgId=1`);
    dashboardView(SALES);
    await advance(LOOKUP_DELAY_MS * 2);
    expect(lookup).not.toHaveBeenCalled();
  });

  test('a failed lookup still sends the session, with what is known', async () => {
    locationService.push(`/d/${SALES.uid}/sales-overview?orgId=1`);
    const tab = openTab({ lookup: async () => Promise.reject(new Error('403')) });
    await advance(LOOKUP_DELAY_MS + SECOND);
    tab.page.pagehide();
    const points = await tab.delivered();
    expect(totalOf(points, METRIC.SESSIONS, of(SALES))).toBe(1);
  });

  test('the home dashboard counts once its `dashboard-view` names it', async () => {
    const tab = openTab();
    await advance(5 * SECOND);
    dashboardView({ uid: 'home', title: 'Home', folder: '' });
    await advance(5 * SECOND);
    tab.page.pagehide();
    const points = await tab.delivered();
    expect(totalOf(points, METRIC.SESSIONS, { [ATTR.DASHBOARD_UID]: 'home' })).toBe(1);
    expect(totalOf(points, METRIC.ENGAGED_TIME)).toBe(5);
  });

  test.each([
    ['an image-renderer load (render=1)', () => locationService.push(`/d/${SALES.uid}/sales?orgId=1&render=1`), false],
    ['a renderer session (authenticatedBy render)', () => locationService.push(`/d/${SALES.uid}/sales?orgId=1`), true],
    ['a solo panel', () => locationService.push(`/d-solo/${SALES.uid}/sales?orgId=1&panelId=2`), false],
    ['a snapshot', () => locationService.push('/dashboard/snapshot/Qx7kP2mNs'), false],
    ['a new dashboard', () => locationService.push('/dashboard/new?orgId=1'), false],
    ['Explore', () => locationService.push('/explore?orgId=1'), false],
    ['the dashboard browser', () => locationService.push('/dashboards'), false],
  ])('%s is not counted', async (_name, arrange, renderer) => {
    arrange();
    const tab = openTab({ renderer });
    dashboardView(SALES);
    dataRequest(SALES);
    await advance(30 * SECOND);
    tab.page.pagehide();
    const points = await tab.delivered();
    expect(points.filter((p) => p.metric.startsWith('grafana.dashboard.'))).toEqual([]);
    expect(tab.tracker.debugInfo().skipped).toBeDefined();
  });

  test('locations shown before the tracker loaded count as they happened, each once', async () => {
    const net = createRecordingFetch();
    const page = createTestPage(net.fetch);
    const t0 = Date.now();
    locationService.push(`/d/${INFRA.uid}/infra?orgId=1`);
    const early = [
      { at: t0 - 3 * SECOND, pathname: `/d/${SALES.uid}/sales-overview`, search: { orgId: '1' } },
      { at: t0 - SECOND, pathname: `/d/${INFRA.uid}/infra`, search: { orgId: '1' } },
    ];
    const tracker = createPageTracker(page.platform, '1.2.3', early, { heartbeatIntervalSeconds: 10 });
    tracker.onEchoEvent({
      type: 'meta-analytics',
      payload: { eventName: 'dashboard-view', dashboardUid: INFRA.uid, dashboardName: INFRA.title, folderName: '' },
    });
    await advance(5 * SECOND);
    page.pagehide();
    await net.idle();
    const points = net.delivered();
    await tracker.dispose();
    expect(totalOf(points, METRIC.SESSIONS, of(SALES))).toBe(1);
    expect(totalOf(points, METRIC.SESSIONS, of(INFRA))).toBe(1);
    expect(histogramOf(points, METRIC.SESSION_DURATION, of(SALES))).toMatchObject({ count: 1, sum: 2 });
  });

  test('a reload is one session and one duration observation', async () => {
    const first = openTab();
    openDashboard(SALES);
    await advance(20 * SECOND);
    await first.page.unload();
    await first.tracker.dispose();
    await advance(2 * SECOND);
    const second = openTab({ net: first.net });
    dashboardView(SALES);
    await advance(20 * SECOND);
    await second.page.unload();
    const points = await second.delivered();
    expect(totalOf(points, METRIC.SESSIONS)).toBe(1);
    expect(histogramOf(points, METRIC.SESSION_DURATION)).toMatchObject({ count: 1 });
    expect(totalOf(points, METRIC.ENGAGED_TIME)).toBe(40);
  });

  test('a duplicated tab (sessionStorage copied while the first page lives) does not resume its session', async () => {
    const first = openTab();
    openDashboard(SALES);
    await advance(5 * SECOND);
    await first.page.unload(); // the first page's reload stores its session…
    await first.tracker.dispose();
    const second = openTab({ net: first.net }); // …the reloaded page resumes it and clears the store
    dashboardView(SALES);
    const copied = JSON.stringify(Object.entries(window.sessionStorage));
    const duplicate = openTab({ net: first.net }); // a copy of the tab, with that storage
    dashboardView(SALES);
    second.page.pagehide();
    const points = await duplicate.delivered();
    expect(copied).not.toContain('footfall.session');
    expect(totalOf(points, METRIC.SESSIONS)).toBe(2);
  });
});
