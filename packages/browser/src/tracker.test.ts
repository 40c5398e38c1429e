import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { EchoEventType, config, getEchoSrv, locationService, registerEchoBackend } from '@grafana/runtime';
import { resolveOptions, type FootfallOptions } from './settings.ts';
import { installDeliveringEchoSrv } from './testing/echo.ts';
import { resetGrafana, setTemplateVariables, setUser, USER_13_1 } from './testing/grafana.ts';
import { expectedBuckets, histogramOf, pointsOf, totalOf, type WirePoint } from './testing/otlp.ts';
import { useFakeClock } from './testing/page.ts';
import { createRecordingFetch, type RecordingFetch } from './testing/recording-fetch.ts';
import { startCollector } from './testing/collector.ts';
import { startScriptedServer } from './testing/http-server.ts';
import { scrape, sumOf } from '../../../test/support/exposition.ts';
import { ABSOLUTE_TIME_RANGE, ATTR, METRIC, METRIC_CATALOG } from './names.ts';
import { MAX_VALUES_PER_VARIABLE } from './selections.ts';
import type { PageTracker, PanelView } from './tracker.ts';
import { closeTestTabs, openTestTab, type TestTab } from './testing/tab.ts';

const DASHBOARD = { uid: 'abc123', title: 'Sales overview' };
const OTHER = { uid: 'zz9', title: 'Infra' };
const SECOND = 1000;
const MINUTE = 60 * SECOND;

const DURATION_BUCKETS = METRIC_CATALOG.find((m) => m.name === METRIC.SESSION_DURATION)!.buckets!;
const QUERY_BUCKETS = METRIC_CATALOG.find((m) => m.name === METRIC.QUERY_DURATION)!.buckets!;

function viewOf(
  dashboard = DASHBOARD,
  options: Partial<FootfallOptions> = {},
  time: { from: string; to: string } = { from: 'now-6h', to: 'now' }
): PanelView {
  return {
    dashboardUid: dashboard.uid,
    dashboardTitle: dashboard.title,
    timeZone: 'Europe/Berlin',
    timeFrom: time.from,
    timeTo: time.to,
    options: resolveOptions(options),
  };
}

type Harness = TestTab;
const openPage = (net?: RecordingFetch): Harness => openTestTab(net);

/** The next page of the same tab: the old page's tracker is gone, sessionStorage and the receiver stay. */
async function reload(previous: Harness): Promise<Harness> {
  await previous.tracker.dispose();
  return openPage(previous.net);
}

/** Advances fake time; with `net`, also lets the exports started meanwhile reach the receiver. */
async function advance(ms: number, net?: RecordingFetch): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  await net?.idle();
}

beforeEach(() => {
  useFakeClock();
  window.sessionStorage.clear();
  resetGrafana();
  locationService.push(`/d/${DASHBOARD.uid}/sales-overview?orgId=1&var-region=eu&var-host=web-1&from=now-6h&to=now`);
});

afterEach(async () => {
  await closeTestTabs();
  vi.useRealTimers();
});

describe('a session', () => {
  test('starts once with the dashboard and the user as attributes, and no identity', async () => {
    const h = openPage();
    setUser({ ...USER_13_1, orgRole: 'Viewer', theme: 'light', timezone: 'America/Chicago', language: 'es-MX' });
    h.tracker.attach({}, viewOf());
    h.page.pagehide();
    const points = await h.delivered();

    const sessions = pointsOf(points, METRIC.SESSIONS);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.value).toBe(1);
    expect(sessions[0]!.attributes).toEqual({
      [ATTR.DASHBOARD_UID]: DASHBOARD.uid,
      [ATTR.DASHBOARD_NAME]: DASHBOARD.title,
      [ATTR.DASHBOARD_TIMEZONE]: 'Europe/Berlin',
    });
    // What is the same for the whole page goes once per export, on the resource.
    expect(sessions[0]!.resource).toMatchObject({
      'service.name': 'grafana-footfall-panel',
      'service.version': '1.2.3',
      [ATTR.GRAFANA_HOST]: 'grafana.example.com',
      [ATTR.GRAFANA_ENV]: 'production',
      'grafana.version': '13.1.0',
      [ATTR.USER_ROLE]: 'Viewer',
      [ATTR.USER_THEME]: 'light',
      [ATTR.USER_TIMEZONE]: 'America/Chicago',
      [ATTR.USER_LOCALE]: 'es-MX',
    });
    expect(h.net.exchanges[0]!.url).toBe('/footfall/v1/metrics');
    for (const e of h.net.exchanges) {
      for (const secret of [
        'jdoe',
        'Jane Doe',
        'jane.doe@example.com',
        'user.login',
        'user.name',
        'user.email',
        'user.id',
      ]) {
        expect(e.body).not.toContain(secret);
      }
    }
  });

  test('carries login and name with sendIdentity, still no e-mail or id', async () => {
    const h = openPage();
    h.tracker.attach({}, viewOf(DASHBOARD, { sendIdentity: true }));
    h.page.pagehide();
    const points = await h.delivered();
    const session = pointsOf(points, METRIC.SESSIONS)[0]!;
    expect(session.attributes[ATTR.USER_LOGIN]).toBe('jdoe');
    expect(session.attributes[ATTR.USER_NAME]).toBe('Jane Doe');
    for (const e of h.net.exchanges) {
      expect(e.body).not.toContain('jane.doe@example.com');
      expect(e.body).not.toContain('user.email');
      expect(e.body).not.toContain('"user.id"');
    }
  });

  test('heartbeats every interval while the page is visible, none while hidden', async () => {
    const h = openPage();
    h.tracker.attach({}, viewOf(DASHBOARD, { heartbeatIntervalSeconds: 20 }));
    await advance(100 * SECOND); // visible and focused: 5 beats
    h.page.blur();
    await advance(40 * SECOND); // visible, focus elsewhere (a wall display): 2 beats
    h.page.hide();
    await advance(120 * SECOND); // hidden: none
    h.page.show();
    await advance(60 * SECOND); // 3 beats
    h.page.pagehide();
    const points = await h.delivered();
    expect(totalOf(points, METRIC.HEARTBEATS, { [ATTR.DASHBOARD_UID]: DASHBOARD.uid })).toBe(
      100 / 20 + 40 / 20 + 60 / 20
    );
  });

  test('splits engaged seconds into focused, visible and hidden at the event times; the duration is their sum', async () => {
    const h = openPage();
    h.tracker.attach({}, viewOf());
    await advance(30 * SECOND);
    h.page.blur();
    await advance(20 * SECOND);
    h.page.hide();
    await advance(40 * SECOND);
    h.page.pagehide();
    const points = await h.delivered();
    const engaged = (state: string) => totalOf(points, METRIC.ENGAGED_TIME, { [ATTR.ENGAGEMENT_STATE]: state });
    expect(engaged('focused')).toBe(30);
    expect(engaged('visible')).toBe(20);
    expect(engaged('hidden')).toBe(40);
    const duration = histogramOf(points, METRIC.SESSION_DURATION);
    expect(duration.count).toBe(1);
    expect(duration.sum).toBe(engaged('focused') + engaged('visible') + engaged('hidden'));
    expect(duration.bucketCounts).toEqual(expectedBuckets(DURATION_BUCKETS, [90]));
  });

  test('two attached instances of the panel report one session', async () => {
    const h = openPage();
    const first = {};
    const second = {};
    h.tracker.attach(first, viewOf());
    h.tracker.attach(second, viewOf());
    await advance(10 * SECOND);
    h.tracker.detach(first); // the second copy takes over, same dashboard: same session
    await advance(10 * SECOND);
    h.page.pagehide();
    const points = await h.delivered();
    expect(totalOf(points, METRIC.SESSIONS)).toBe(1);
    expect(histogramOf(points, METRIC.SESSION_DURATION)).toMatchObject({ count: 1, sum: 20 });
  });

  test('unmounting the panel (view panel, edit, a tab switch) does not end the session', async () => {
    const h = openPage();
    const instance = {};
    h.tracker.attach(instance, viewOf());
    await advance(15 * SECOND);
    h.tracker.detach(instance);
    await advance(60 * SECOND, h.net); // an export cycle passes: no duration yet
    expect(pointsOf(h.net.delivered(), METRIC.SESSION_DURATION)).toEqual([]);
    h.tracker.attach({}, viewOf()); // back from view-panel: a new instance
    await advance(5 * SECOND);
    h.page.pagehide();
    const points = await h.delivered();
    expect(totalOf(points, METRIC.SESSIONS)).toBe(1);
    expect(histogramOf(points, METRIC.SESSION_DURATION)).toMatchObject({ count: 1, sum: 80 });
    expect(totalOf(points, METRIC.HEARTBEATS)).toBe(1);
  });

  test('navigating to another dashboard ends the session with its duration; that dashboard starts its own', async () => {
    const h = openPage();
    const a = {};
    h.tracker.attach(a, viewOf());
    await advance(45 * SECOND);
    locationService.push(`/d/${OTHER.uid}/infra`);
    const ended = await h.delivered(); // leaving a dashboard sends at once
    expect(histogramOf(ended, METRIC.SESSION_DURATION, { [ATTR.DASHBOARD_UID]: DASHBOARD.uid })).toMatchObject({
      count: 1,
      sum: 45,
    });
    h.tracker.detach(a);
    h.tracker.attach({}, viewOf(OTHER));
    await advance(30 * SECOND);
    h.page.pagehide();
    const points = await h.delivered();
    expect(totalOf(points, METRIC.SESSIONS, { [ATTR.DASHBOARD_UID]: DASHBOARD.uid })).toBe(1);
    expect(
      totalOf(points, METRIC.SESSIONS, { [ATTR.DASHBOARD_UID]: OTHER.uid, [ATTR.DASHBOARD_NAME]: OTHER.title })
    ).toBe(1);
    expect(histogramOf(points, METRIC.SESSION_DURATION, { [ATTR.DASHBOARD_UID]: OTHER.uid })).toMatchObject({
      count: 1,
      sum: 30,
    });
    expect(histogramOf(points, METRIC.SESSION_DURATION, { [ATTR.DASHBOARD_UID]: DASHBOARD.uid })).toMatchObject({
      count: 1,
      sum: 45,
    });
  });

  test('going to Explore ends the session and starts none', async () => {
    const h = openPage();
    const a = {};
    h.tracker.attach(a, viewOf());
    await advance(12 * SECOND);
    locationService.push('/explore?left=%7B%7D');
    h.tracker.detach(a);
    await advance(5 * MINUTE);
    h.page.pagehide();
    const points = await h.delivered();
    expect(totalOf(points, METRIC.SESSIONS)).toBe(1);
    expect(histogramOf(points, METRIC.SESSION_DURATION)).toMatchObject({ count: 1, sum: 12 });
    expect(h.tracker.debugInfo().sessionId).toBeUndefined();
  });

  // After the session ends by navigation, the tracker keeps the last dashboard's view, and every
  // engagement change (blur, focus, a tab switch) runs maybeStart(), which starts a session for that
  // view's uid on whatever page the user is now (classifyPath('/explore') is 'other', not skipped).
  test('after leaving for Explore, a tab switch or focus change starts no phantom session', async () => {
    const h = openPage();
    const a = {};
    h.tracker.attach(a, viewOf());
    await advance(12 * SECOND);
    locationService.push('/explore');
    h.tracker.detach(a);
    h.page.blur(); // the user clicks into another window
    await advance(2 * MINUTE);
    h.page.hide(); // switches tabs and back
    h.page.show();
    await advance(2 * MINUTE);
    h.page.pagehide();
    const points = await h.delivered();
    expect(h.tracker.debugInfo().sessionId).toBeUndefined();
    expect(totalOf(points, METRIC.SESSIONS)).toBe(1);
    expect(totalOf(points, METRIC.HEARTBEATS)).toBe(0);
  });

  test('back from the back/forward cache, the session goes on', async () => {
    const h = openPage();
    h.tracker.attach({}, viewOf());
    await advance(10 * SECOND);
    h.page.pagehide(true);
    await advance(30 * SECOND);
    h.page.pageshow(true);
    await advance(10 * SECOND);
    h.page.pagehide();
    const points = await h.delivered();
    expect(totalOf(points, METRIC.SESSIONS)).toBe(1);
    expect(totalOf(points, METRIC.ENGAGED_TIME, { [ATTR.ENGAGEMENT_STATE]: 'focused' })).toBe(20);
  });

  test('pagehide ends the session and sends at once, with keepalive', async () => {
    const h = openPage();
    h.tracker.attach({}, viewOf());
    await advance(10 * SECOND, h.net);
    expect(h.net.exchanges).toHaveLength(0); // before the export interval, nothing went out
    h.page.pagehide();
    const points = await h.delivered();
    expect(h.net.exchanges.length).toBeGreaterThan(0);
    expect(h.net.exchanges.every((e) => e.keepalive === true)).toBe(true);
    expect(histogramOf(points, METRIC.SESSION_DURATION)).toMatchObject({ count: 1, sum: 10 });
    expect(totalOf(points, METRIC.ENGAGED_TIME, { [ATTR.ENGAGEMENT_STATE]: 'focused' })).toBe(10);
  });
});

describe('a reload', () => {
  test('within the inactivity window resumes the session: one session counted over both pages', async () => {
    const first = openPage();
    first.tracker.attach({}, viewOf());
    await advance(20 * SECOND);
    const id = first.tracker.debugInfo().sessionId;
    await first.page.unload();
    const before = await first.delivered();
    expect(totalOf(before, METRIC.SESSIONS)).toBe(1);

    await advance(4 * SECOND); // the next page of the tab loads
    const second = await reload(first);
    second.tracker.attach({}, viewOf());
    expect(second.tracker.debugInfo().sessionId).toBe(id); // what the debug view shows
    await advance(30 * SECOND);
    second.page.pagehide();
    const points = await second.delivered();
    expect(totalOf(points, METRIC.SESSIONS)).toBe(1);
    // The reload chose nothing: variables and time range are not counted again.
    expect(totalOf(points, METRIC.TIME_RANGE_SELECTIONS)).toBe(1);
    expect(totalOf(points, METRIC.VARIABLE_SELECTIONS, { [ATTR.VARIABLE_NAME]: 'region' })).toBe(1);
    expect(totalOf(points, METRIC.ENGAGED_TIME, { [ATTR.ENGAGEMENT_STATE]: 'focused' })).toBe(50);
  });

  test('after the inactivity window starts a new session', async () => {
    const first = openPage();
    first.tracker.attach({}, viewOf(DASHBOARD, { inactivityTimeoutMinutes: 5 }));
    await advance(20 * SECOND);
    await first.page.unload();
    await advance(5 * MINUTE + SECOND);
    const second = await reload(first);
    second.tracker.attach({}, viewOf(DASHBOARD, { inactivityTimeoutMinutes: 5 }));
    second.page.pagehide();
    const points = await second.delivered();
    expect(totalOf(points, METRIC.SESSIONS)).toBe(2);
  });

  test('on another dashboard starts a new session', async () => {
    const first = openPage();
    first.tracker.attach({}, viewOf());
    await first.page.unload();
    locationService.push(`/d/${OTHER.uid}/infra`);
    const second = await reload(first);
    second.tracker.attach({}, viewOf(OTHER));
    second.page.pagehide();
    const points = await second.delivered();
    expect(totalOf(points, METRIC.SESSIONS, { [ATTR.DASHBOARD_UID]: DASHBOARD.uid })).toBe(1);
    expect(totalOf(points, METRIC.SESSIONS, { [ATTR.DASHBOARD_UID]: OTHER.uid })).toBe(1);
  });

  // A page cannot tell a reload from a close at pagehide, so the first pagehide is the session's end
  // for the duration histogram; the resumed session adds engaged seconds but no second observation.
  test('a reloaded session is one duration observation, made at the first pagehide', async () => {
    const first = openPage();
    first.tracker.attach({}, viewOf());
    await advance(60 * SECOND);
    await first.page.unload();
    await advance(4 * SECOND);
    const second = await reload(first);
    second.tracker.attach({}, viewOf());
    await advance(60 * SECOND);
    second.page.pagehide();
    const points = await second.delivered();
    expect(totalOf(points, METRIC.SESSIONS)).toBe(1);
    expect(totalOf(points, METRIC.ENGAGED_TIME)).toBe(120);
    expect(histogramOf(points, METRIC.SESSION_DURATION)).toMatchObject({ count: 1, sum: 60 });
  });
});

describe('inactivity', () => {
  test('a tab hidden longer than the timeout ends its session at the deadline; showing it again starts a new one', async () => {
    const h = openPage();
    h.tracker.attach({}, viewOf(DASHBOARD, { inactivityTimeoutMinutes: 10 }));
    await advance(25 * SECOND);
    h.page.hide();
    await advance(45 * MINUTE, h.net); // the tab stays in the background well past the timeout
    expect(h.tracker.debugInfo().sessionId).toBeUndefined();
    const ended = h.net.delivered();
    expect(histogramOf(ended, METRIC.SESSION_DURATION)).toMatchObject({ count: 1, sum: 25 + 10 * 60 });
    expect(totalOf(ended, METRIC.ENGAGED_TIME, { [ATTR.ENGAGEMENT_STATE]: 'hidden' })).toBe(10 * 60);

    h.page.show();
    expect(h.tracker.debugInfo().sessionId).toBeDefined();
    await advance(15 * SECOND);
    h.page.pagehide();
    const points = await h.delivered();
    expect(totalOf(points, METRIC.SESSIONS)).toBe(2);
    expect(histogramOf(points, METRIC.SESSION_DURATION)).toMatchObject({ count: 2, sum: 25 + 10 * 60 + 15 });
    // Nothing is credited between the deadline and the tab coming back.
    expect(totalOf(points, METRIC.ENGAGED_TIME)).toBe(25 + 10 * 60 + 15);
  });

  test('a tab hidden shorter than the timeout keeps its session', async () => {
    const h = openPage();
    h.tracker.attach({}, viewOf(DASHBOARD, { inactivityTimeoutMinutes: 10 }));
    const id = h.tracker.debugInfo().sessionId;
    h.page.hide();
    await advance(9 * MINUTE);
    h.page.show();
    expect(h.tracker.debugInfo().sessionId).toBe(id);
    h.page.pagehide();
    const points = await h.delivered();
    expect(totalOf(points, METRIC.SESSIONS)).toBe(1);
    expect(totalOf(points, METRIC.ENGAGED_TIME, { [ATTR.ENGAGEMENT_STATE]: 'hidden' })).toBe(9 * 60);
  });
});

describe('pages that are not recorded', () => {
  const cases: Array<[string, string, () => void]> = [
    ['a solo panel (image renderer)', `/d-solo/${DASHBOARD.uid}/sales-overview?panelId=2`, () => undefined],
    ['a snapshot', '/dashboard/snapshot/Qx7kP2mNs', () => undefined],
    ['a public dashboard URL', '/public-dashboards/8f1e0c2d9b7a4e6f', () => undefined],
    [
      'a public dashboard by its access token',
      `/d/${DASHBOARD.uid}/sales-overview`,
      () => (config.publicDashboardAccessToken = '8f1e0c2d9b7a4e6f'),
    ],
  ];
  test.each(cases)('%s', async (_name, path, arrange) => {
    arrange();
    locationService.push(path);
    const h = openPage();
    h.tracker.attach({}, viewOf());
    await advance(2 * MINUTE);
    h.page.pagehide();
    const points = await h.delivered();
    expect(h.tracker.debugInfo().skipped).toBeDefined();
    expect(points.filter((p) => p.metric.startsWith('grafana.dashboard.'))).toEqual([]);
  });

  test('a dashboard without uid (new, unsaved)', async () => {
    locationService.push('/dashboard/new?orgId=1');
    const h = openPage();
    h.tracker.attach({}, viewOf({ uid: '', title: 'New dashboard' }));
    await advance(2 * MINUTE);
    h.page.pagehide();
    expect(await h.delivered()).toEqual([]);
    expect(h.tracker.debugInfo().sessionId).toBeUndefined();
  });

  test('the uid comes from the URL when the panel cannot interpolate it', async () => {
    const h = openPage();
    h.tracker.attach({}, viewOf({ uid: '', title: '' }));
    h.page.pagehide();
    const points = await h.delivered();
    expect(totalOf(points, METRIC.SESSIONS, { [ATTR.DASHBOARD_UID]: DASHBOARD.uid })).toBe(1);
  });
});

describe('choices on the dashboard', () => {
  const variable = (points: readonly WirePoint[], name: string, value: string) =>
    totalOf(points, METRIC.VARIABLE_SELECTIONS, { [ATTR.VARIABLE_NAME]: name, [ATTR.VARIABLE_VALUE]: value });

  test('variables: the values at the start and every change, by name and value', async () => {
    const h = openPage();
    h.tracker.attach({}, viewOf());
    await advance(5 * SECOND);
    locationService.partial({ 'var-region': 'us' });
    await advance(5 * SECOND);
    locationService.partial({ 'var-region': 'eu' });
    locationService.partial({ 'var-region': 'eu' }); // the same again: not a choice
    locationService.partial({ from: 'now-24h', to: 'now' }); // only the time range changes
    h.page.pagehide();
    const points = await h.delivered();
    expect(variable(points, 'region', 'eu')).toBe(2);
    expect(variable(points, 'region', 'us')).toBe(1);
    expect(variable(points, 'host', 'web-1')).toBe(1);
    expect(totalOf(points, METRIC.VARIABLE_SELECTIONS)).toBe(4);
    expect(pointsOf(points, METRIC.VARIABLE_SELECTIONS)[0]!.attributes).toMatchObject({
      [ATTR.DASHBOARD_UID]: DASHBOARD.uid,
      [ATTR.DASHBOARD_NAME]: DASHBOARD.title,
    });
  });

  test("on the home dashboard (path '/'), choices are recorded and do not end the session", async () => {
    locationService.push('/?var-region=eu');
    const h = openPage();
    h.tracker.attach({}, viewOf());
    await advance(5 * SECOND);
    locationService.partial({ 'var-region': 'us' });
    await advance(5 * SECOND);
    h.page.pagehide();
    const points = await h.delivered();
    expect(totalOf(points, METRIC.SESSIONS)).toBe(1);
    expect(variable(points, 'region', 'us')).toBe(1);
    // One session from start to pagehide: no end when only the query string changed.
    expect(histogramOf(points, METRIC.SESSION_DURATION).count).toBe(1);
    expect(histogramOf(points, METRIC.SESSION_DURATION).sum).toBeCloseTo(10, 3);
  });

  test('a multi-value selection records at most 10 values', async () => {
    const h = openPage();
    h.tracker.attach({}, viewOf());
    const hosts = Array.from({ length: 14 }, (_, i) => `web-${i + 1}`);
    locationService.partial({ 'var-host': hosts });
    h.page.pagehide();
    const points = await h.delivered();
    const recorded = pointsOf(points, METRIC.VARIABLE_SELECTIONS, { [ATTR.VARIABLE_NAME]: 'host' });
    // web-1 was selected at the start too; the new selection adds its first ten values.
    expect(totalOf(points, METRIC.VARIABLE_SELECTIONS, { [ATTR.VARIABLE_NAME]: 'host' })).toBe(
      1 + MAX_VALUES_PER_VARIABLE
    );
    expect(new Set(recorded.map((p) => p.attributes[ATTR.VARIABLE_VALUE]))).toEqual(new Set(hosts.slice(0, 10)));
  });

  test("the allow-list limits the variables recorded; Grafana's __ variables never are", async () => {
    const h = openPage();
    h.tracker.attach({}, viewOf(DASHBOARD, { variableAllowList: 'region, $__interval' }));
    locationService.partial({ 'var-region': 'apac', 'var-host': 'web-9', 'var-__interval': '1m' });
    h.page.pagehide();
    const points = await h.delivered();
    expect(variable(points, 'region', 'eu')).toBe(1);
    expect(variable(points, 'region', 'apac')).toBe(1);
    expect(totalOf(points, METRIC.VARIABLE_SELECTIONS)).toBe(2);
  });

  test('__-prefixed variables from the URL are skipped without an allow-list', async () => {
    const h = openPage();
    h.tracker.attach({}, viewOf());
    locationService.partial({ 'var-__from': 'x', 'var-__dashboard': 'y', 'var-env': 'prod' });
    h.page.pagehide();
    const points = await h.delivered();
    const names = new Set(pointsOf(points, METRIC.VARIABLE_SELECTIONS).map((p) => p.attributes[ATTR.VARIABLE_NAME]));
    expect(names).toEqual(new Set(['region', 'host', 'env']));
  });

  test('variables at the start come from the template service when Grafana has one', async () => {
    setTemplateVariables([
      { name: 'cluster', value: ['eu-1', 'eu-2'] },
      { name: 'namespace', value: 'checkout' },
    ]);
    const h = openPage();
    h.tracker.attach({}, viewOf());
    h.page.pagehide();
    const points = await h.delivered();
    expect(variable(points, 'cluster', 'eu-1')).toBe(1);
    expect(variable(points, 'cluster', 'eu-2')).toBe(1);
    expect(variable(points, 'namespace', 'checkout')).toBe(1);
    expect(totalOf(points, METRIC.VARIABLE_SELECTIONS)).toBe(3);
  });

  test('time ranges: relative kept, absolute as "absolute", repeats not counted twice', async () => {
    const h = openPage();
    const instance = {};
    h.tracker.attach(instance, viewOf());
    locationService.partial({ from: 'now-24h', to: 'now' });
    h.tracker.attach(instance, viewOf(DASHBOARD, {}, { from: 'now-24h', to: 'now' })); // the re-render for the same choice
    locationService.partial({ from: '1767225600000', to: '1767312000000' });
    h.tracker.attach(instance, viewOf(DASHBOARD, {}, { from: ABSOLUTE_TIME_RANGE, to: ABSOLUTE_TIME_RANGE }));
    locationService.partial({ from: 'now-7d', to: 'now-1d' });
    h.page.pagehide();
    const points = await h.delivered();
    const range = (label: string) => totalOf(points, METRIC.TIME_RANGE_SELECTIONS, { [ATTR.TIME_RANGE]: label });
    expect(range('now-6h')).toBe(1);
    expect(range('now-24h')).toBe(1);
    expect(range(ABSOLUTE_TIME_RANGE)).toBe(1);
    expect(range('now-7d..now-1d')).toBe(1);
    expect(totalOf(points, METRIC.TIME_RANGE_SELECTIONS)).toBe(4);
  });
});

describe("Grafana's data-request events", () => {
  let tracker: PageTracker;
  beforeEach(() => {
    installDeliveringEchoSrv();
    // As the page hub (hub.ts) wires the page's tracker.
    registerEchoBackend({
      supportedEvents: [EchoEventType.MetaAnalytics],
      options: {},
      flush: () => undefined,
      addEvent: (e) => tracker.onEchoEvent(e),
    });
  });

  const request = (payload: Record<string, unknown>) =>
    getEchoSrv().addEvent({
      type: EchoEventType.MetaAnalytics,
      payload: { eventName: 'data-request', dashboardUid: DASHBOARD.uid, dashboardName: DASHBOARD.title, ...payload },
    });

  test('become queries, query errors and query durations in seconds', async () => {
    const h = openPage();
    tracker = h.tracker;
    h.tracker.attach({}, viewOf());
    request({ datasourceType: 'prometheus', duration: 1500 });
    request({ datasourceType: 'prometheus', duration: 80 });
    request({ datasourceType: 'prometheus', duration: 12000, error: 'bad_data: parse error' });
    request({ datasourceType: 'loki', duration: 300, error: { message: 'timeout' } });
    request({ duration: 40 }); // a data source that does not say what it is
    getEchoSrv().addEvent({
      type: EchoEventType.MetaAnalytics,
      payload: { eventName: 'dashboard-view', dashboardUid: DASHBOARD.uid },
    });
    h.page.pagehide();
    const points = await h.delivered();
    const ds = (type: string) => ({ [ATTR.DATASOURCE_TYPE]: type, [ATTR.DASHBOARD_UID]: DASHBOARD.uid });
    expect(totalOf(points, METRIC.QUERIES, ds('prometheus'))).toBe(3);
    expect(totalOf(points, METRIC.QUERIES, ds('loki'))).toBe(1);
    expect(totalOf(points, METRIC.QUERIES, ds('unknown'))).toBe(1);
    expect(totalOf(points, METRIC.QUERY_ERRORS, ds('prometheus'))).toBe(1);
    expect(totalOf(points, METRIC.QUERY_ERRORS, ds('loki'))).toBe(1);
    expect(totalOf(points, METRIC.QUERY_ERRORS)).toBe(2);
    // Durations per dashboard, all data sources together: the type would multiply the histogram's series.
    const all = histogramOf(points, METRIC.QUERY_DURATION, { [ATTR.DASHBOARD_UID]: DASHBOARD.uid });
    expect(all.count).toBe(5);
    expect(all.sum).toBeCloseTo(1.5 + 0.08 + 12 + 0.3 + 0.04, 9);
    expect(all.bucketCounts).toEqual(expectedBuckets(QUERY_BUCKETS, [1.5, 0.08, 12, 0.3, 0.04]));
  });

  test('from Explore, or with no session running, are ignored', async () => {
    const h = openPage();
    tracker = h.tracker;
    request({ datasourceType: 'prometheus', duration: 100 }); // before any dashboard
    h.tracker.attach({}, viewOf());
    request({ datasourceType: 'prometheus', duration: 100, source: 'explore' });
    request({ datasourceType: 'prometheus', duration: 100, source: 'unified-alerting' });
    request({ datasourceType: 'prometheus', duration: 100, source: 'dashboard' });
    h.page.pagehide();
    const points = await h.delivered();
    expect(totalOf(points, METRIC.QUERIES)).toBe(1);
    expect(histogramOf(points, METRIC.QUERY_DURATION).count).toBe(1);
  });
});

describe('an outage', () => {
  test('the collector down for two export cycles: once it is back, its totals are what was recorded', async () => {
    const collector = await startCollector();
    const gate = await startScriptedServer({ forwardTo: collector.url });
    try {
      const net = createRecordingFetch(globalThis.fetch);
      const h = openPage(net);
      const options = { endpoint: `${gate.url}/v1/metrics`, heartbeatIntervalSeconds: 20, exportIntervalSeconds: 60 };
      h.tracker.attach({}, viewOf(DASHBOARD, options));
      await advance(60 * SECOND, net); // export cycle 1: delivered
      expect(gate.received.filter((r) => r.status === 200).length).toBeGreaterThan(0);

      gate.failWith = { status: 502 };
      locationService.partial({ 'var-region': 'us' });
      for (let i = 0; i < 12; i++) {
        await advance(10 * SECOND, net);
      } // export cycles 2 and 3 fail, retries too
      const failed = gate.received.filter((r) => r.status === 502).length;
      expect(failed).toBeGreaterThanOrEqual(2);
      expect(h.tracker.debugInfo().delivery?.lastError).toContain('502');

      gate.failWith = undefined;
      for (let i = 0; i < 6; i++) {
        await advance(10 * SECOND, net);
      } // back: what was kept goes out, merged
      h.page.pagehide();
      await net.idle();

      const seconds = 60 + 120 + 60;
      const { samples } = await scrape(collector.url);
      const mine = { dashboard_uid: DASHBOARD.uid };
      expect(sumOf(samples, 'grafana_analytics_sessions_total', mine)).toBe(1);
      expect(sumOf(samples, 'footfall_dashboard_engaged_seconds_total', { ...mine, engagement_state: 'focused' })).toBe(
        seconds
      );
      expect(sumOf(samples, 'footfall_dashboard_heartbeats_total', mine)).toBe(seconds / 20);
      expect(
        sumOf(samples, 'footfall_dashboard_variable_selections_total', {
          ...mine,
          variable_name: 'region',
          variable_value: 'us',
        })
      ).toBe(1);
      expect(sumOf(samples, 'footfall_dashboard_variable_selections_total', mine)).toBe(3);
      expect(sumOf(samples, 'footfall_dashboard_session_duration_seconds_count', mine)).toBe(1);
      expect(sumOf(samples, 'footfall_dashboard_session_duration_seconds_sum', mine)).toBe(seconds);
      expect(h.tracker.debugInfo().delivery).toMatchObject({ pending: 0, dropped: 0, lastError: undefined });
    } finally {
      await gate.close();
      await collector.close();
    }
  });
});
