/**
 * The built panel (packages/panel/dist) end to end, in real Chromium, on both shared-module sets: a
 * Grafana dashboard page under `/grafana`, the panel with its default endpoint, the README's proxy
 * rule to a real collector process, and assertions on what the collector exposes and on what the
 * browser sent. Each test opens its own tab on its own dashboard uid, so tests sharing a collector
 * read only their own series.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import type { MountOptions } from './browser/host/harness-api.ts';
import { hidePage, launchChromium, showPage, type RunningChromium } from './support/chromium.ts';
import { spawnCollector, type CollectorProcess } from './support/collector.ts';
import { scrape, sumOf, type Sample } from './support/exposition.ts';
import { openHarnessPage, trackerLoaded, type RemoteHarness } from './support/harness-page.ts';
import {
  COLLECTOR_PREFIX,
  PLUGIN_PATH,
  startHarnessServer,
  type CollectorRequest,
  type HarnessServer,
} from './support/harness-server.ts';
import { REPO_ROOT, SHARED_MODULE_SETS } from './support/shared-module-sets.ts';

const PANEL_DIST = join(REPO_ROOT, 'packages/panel/dist');
/** Where the panel sends with an empty endpoint option: `<appSubUrl>/footfall/v1/metrics`. */
const METRICS_PATH = `${COLLECTOR_PREFIX}/v1/metrics`;
/** Short timers so a test sees several heartbeats and exports in a few seconds. */
const FAST = { heartbeatIntervalSeconds: 1, exportIntervalSeconds: 1 };
/** The signed-in user of the harness's boot data (test/support/boot-data.ts). */
const USER = { login: 'alice', name: 'Alice Example', email: 'alice@example.com', id: 42, uid: 'fe2kq9alice42' };
const PERSONAL_KEYS = ['user.login', 'user.name', 'user.email', 'user.id'];

const M = {
  sessions: 'grafana_analytics_sessions_total',
  heartbeats: 'footfall_dashboard_heartbeats_total',
  engaged: 'footfall_dashboard_engaged_seconds_total',
  durationCount: 'footfall_dashboard_session_duration_seconds_count',
  durationSum: 'footfall_dashboard_session_duration_seconds_sum',
  variables: 'footfall_dashboard_variable_selections_total',
  timeRanges: 'footfall_dashboard_time_range_selections_total',
  queries: 'footfall_dashboard_queries_total',
  queryErrors: 'footfall_dashboard_query_errors_total',
  queryDurationCount: 'footfall_dashboard_query_duration_seconds_count',
  queryDurationSum: 'footfall_dashboard_query_duration_seconds_sum',
} as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Grafana's URL slug for a title (the harness's `openDashboard` makes the same one). */
const slug = (title: string) =>
  title
    .toLowerCase()
    .replace(/[^\w ]+/g, '')
    .replace(/ +/g, '-');

function bodyText(request: CollectorRequest): string {
  return request.body.toString('utf8');
}

/** Every OTLP KeyValue in a JSON export body, resource and data point attributes alike. */
function keyValues(
  node: unknown,
  out: Array<{ key: string; value: unknown }> = []
): Array<{ key: string; value: unknown }> {
  if (Array.isArray(node)) {
    for (const item of node) {
      keyValues(item, out);
    }
  } else if (typeof node === 'object' && node !== null) {
    const record = node as Record<string, unknown>;
    if (typeof record['key'] === 'string' && typeof record['value'] === 'object' && record['value'] !== null) {
      out.push({ key: record['key'], value: Object.values(record['value'] as Record<string, unknown>)[0] });
    }
    for (const child of Object.values(record)) {
      keyValues(child, out);
    }
  }
  return out;
}

// The three sets run side by side, each with its own browser, proxy and collector. Within a set the
// tests run one after the other: the tab a test brings to the front hides every other tab. Three
// Chromiums on a two-core machine: the outage scenarios can take longer than the default 30 s.
describe.each(SHARED_MODULE_SETS)('the built panel on $name shared modules', { concurrent: true }, (set) => {
  const scenario = (name: string, fn: () => Promise<void>) => test(name, { concurrent: false, timeout: 90_000 }, fn);
  let chrome: RunningChromium;
  let collector: CollectorProcess;
  let server: HarnessServer;
  const pages: Page[] = [];

  beforeAll(async () => {
    [chrome, collector] = await Promise.all([launchChromium(), spawnCollector()]);
    server = await startHarnessServer({ set, pluginDir: PANEL_DIST, upstream: collector.url });
  });

  afterEach(async () => {
    server?.setMode('up');
    // A test that failed half-way leaves its tab open; it must not cover the next test's tab.
    await Promise.all(pages.splice(0).map((page) => page.close().catch(() => undefined)));
  });

  afterAll(async () => {
    await chrome?.close();
    await server?.close();
    await collector?.stop();
  });

  interface OpenDashboard {
    readonly page: Page;
    readonly harness: RemoteHarness;
    /** Date.now() just before the panel mounted and just after it had. */
    readonly mountStarted: number;
    readonly mountDone: number;
  }

  /** A new tab on `/d/<uid>/<slug>`, in front, with the panel mounted on the dashboard `uid`. */
  async function open(uid: string, mount: Partial<MountOptions> = {}): Promise<OpenDashboard> {
    const title = `Dashboard ${uid}`;
    const { page, harness } = await openHarnessPage(chrome.context, server, `/d/${uid}/${slug(title)}`);
    pages.push(page);
    const mountStarted = Date.now();
    await harness.mount({ dashboard: { uid, title }, options: { ...FAST }, ...mount });
    // What the user does in the dashboard's first instant is the dashboard's starting state.
    expect(await trackerLoaded(page)).toBe(true);
    return { page, harness, mountStarted, mountDone: Date.now() };
  }

  async function samples(): Promise<Sample[]> {
    return (await scrape(collector.url)).samples;
  }

  /** One dashboard's value of a series, summed over the other labels. */
  async function value(name: string, uid: string, labels: Record<string, string> = {}): Promise<number> {
    return sumOf(await samples(), name, { dashboard_uid: uid, ...labels });
  }

  /** Retries `check` until it passes (up to `timeout` ms), for what the browser delivers in its own time; returns its result. */
  function eventually<T>(check: () => Promise<T>, timeout = 8_000): Promise<T> {
    return vi.waitFor(check, { timeout, interval: 150 });
  }

  async function expectNoPageErrors(harness: RemoteHarness): Promise<void> {
    expect(await harness.errors()).toEqual([]);
  }

  /**
   * Waits until every count in `expected` is at the collector, then more than one export cycle, and
   * checks that they are still exactly those values: nothing lost, nothing sent twice.
   */
  async function expectExactly(
    uid: string,
    expected: ReadonlyArray<readonly [string, Record<string, string>, number]>
  ): Promise<void> {
    // Keyed by series, so a failure says which count is off.
    const series = ([name, labels]: readonly [string, Record<string, string>, number]) =>
      `${name}${JSON.stringify(labels)}`;
    const read = async () => {
      const all = await samples();
      return Object.fromEntries(expected.map((e) => [series(e), sumOf(all, e[0], { dashboard_uid: uid, ...e[1] })]));
    };
    const want = Object.fromEntries(expected.map((e) => [series(e), e[2]]));
    await eventually(async () => expect(await read()).toEqual(want), 10_000);
    await sleep(1_500);
    expect(await read()).toEqual(want);
  }

  scenario(
    'a dashboard counts one session, for the Editor of the boot data, and heartbeats while visible',
    async () => {
      const uid = 'start';
      const { harness, mountStarted } = await open(uid);

      await eventually(async () => expect(await value(M.heartbeats, uid)).toBeGreaterThanOrEqual(2));
      const elapsed = (Date.now() - mountStarted) / 1000;
      const all = await samples();
      expect(sumOf(all, M.sessions, { dashboard_uid: uid })).toBe(1);
      expect(
        sumOf(all, M.sessions, { dashboard_uid: uid, user_role: 'Editor', dashboard_name: `Dashboard ${uid}` })
      ).toBe(1);
      // One heartbeat per second at most, whatever the machine's load did to the timers.
      expect(sumOf(all, M.heartbeats, { dashboard_uid: uid })).toBeLessThanOrEqual(elapsed + 1);
      const onScreen =
        sumOf(all, M.engaged, { dashboard_uid: uid, engagement_state: 'focused' }) +
        sumOf(all, M.engaged, { dashboard_uid: uid, engagement_state: 'visible' });
      expect(onScreen).toBeGreaterThan(0);
      expect(onScreen).toBeLessThanOrEqual(elapsed + 0.1);
      expect(sumOf(all, M.engaged, { dashboard_uid: uid, engagement_state: 'hidden' })).toBe(0);
      // Still open: no end yet.
      expect(sumOf(all, M.durationCount, { dashboard_uid: uid })).toBe(0);
      await expectNoPageErrors(harness);
    }
  );

  scenario('two copies of the panel on one dashboard still count one session and one heartbeat a second', async () => {
    const uid = 'two-copies';
    const { page, harness, mountStarted } = await open(uid, { instances: 2 });
    expect(await page.locator('.panel-container').count()).toBe(2);

    await eventually(async () => expect(await value(M.heartbeats, uid)).toBeGreaterThanOrEqual(2));
    const elapsed = (Date.now() - mountStarted) / 1000;
    const all = await samples();
    expect(sumOf(all, M.sessions, { dashboard_uid: uid })).toBe(1);
    expect(sumOf(all, M.heartbeats, { dashboard_uid: uid })).toBeLessThanOrEqual(elapsed + 1);
    await expectNoPageErrors(harness);
  });

  scenario('a hidden tab earns hidden seconds and no heartbeats; shown again, it heartbeats again', async () => {
    const uid = 'hide-show';
    const { page, harness } = await open(uid);
    await sleep(1_000);

    const hideStarted = Date.now();
    await hidePage(page);
    const hidden = Date.now();
    // The flush on hiding, or the next export, has reached the collector.
    await eventually(async () => expect(server.requests.some((r) => r.at > hidden && r.status === 200)).toBe(true));
    const before = await value(M.heartbeats, uid);
    await sleep(3_500);
    const during = await value(M.heartbeats, uid);
    // At most the one beat that was on its way as the tab went away.
    expect(during - before).toBeLessThanOrEqual(1);

    const showStarted = Date.now();
    await showPage(page);
    const shown = Date.now();
    await eventually(async () => expect(await value(M.heartbeats, uid)).toBeGreaterThan(during));

    // The hidden span ran from the visibilitychange to hidden (during hidePage) to the one to visible (during showPage).
    const hiddenSeconds = await eventually(async () => {
      const seconds = await value(M.engaged, uid, { engagement_state: 'hidden' });
      expect(seconds).toBeGreaterThanOrEqual((showStarted - hidden) / 1000 - 0.1);
      return seconds;
    });
    expect(hiddenSeconds).toBeLessThanOrEqual((shown - hideStarted) / 1000 + 0.1);
    const all = await samples();
    const onScreen =
      sumOf(all, M.engaged, { dashboard_uid: uid, engagement_state: 'focused' }) +
      sumOf(all, M.engaged, { dashboard_uid: uid, engagement_state: 'visible' });
    expect(onScreen).toBeGreaterThan(0);
    await expectNoPageErrors(harness);
  });

  scenario('opening another dashboard in the app ends the first session and starts the second', async () => {
    const first = 'nav-first';
    const second = 'nav-second';
    const { harness } = await open(first);
    await eventually(async () => expect(await value(M.sessions, first)).toBe(1));

    await harness.openDashboard({ dashboard: { uid: second, title: `Dashboard ${second}` }, options: { ...FAST } });
    expect((await harness.location()).pathname).toBe(`/d/${second}/${slug(`Dashboard ${second}`)}`);
    await eventually(async () => {
      const all = await samples();
      expect(sumOf(all, M.durationCount, { dashboard_uid: first })).toBe(1);
      expect(sumOf(all, M.sessions, { dashboard_uid: second })).toBe(1);
    });
    // Another export cycle: neither is counted again, and the second is still running.
    await sleep(1_200);
    const all = await samples();
    expect(sumOf(all, M.sessions, { dashboard_uid: first })).toBe(1);
    expect(sumOf(all, M.durationCount, { dashboard_uid: first })).toBe(1);
    expect(sumOf(all, M.sessions, { dashboard_uid: second })).toBe(1);
    expect(sumOf(all, M.durationCount, { dashboard_uid: second })).toBe(0);
    await expectNoPageErrors(harness);
  });

  scenario('closing the tab delivers the session and its duration, with nothing sent before', async () => {
    const uid = 'tab-close';
    // Hour-long timers: only the flush as the tab goes away can deliver anything.
    const { page, harness, mountStarted, mountDone } = await open(uid, {
      options: { heartbeatIntervalSeconds: 3600, exportIntervalSeconds: 3600 },
    });
    await sleep(1_000);
    await expectNoPageErrors(harness);
    const mine = (r: CollectorRequest) => bodyText(r).includes(`"${uid}"`);
    expect(server.requests.filter(mine)).toEqual([]);

    const closing = Date.now();
    await page.close({ runBeforeUnload: true });
    await eventually(async () => expect(await value(M.durationCount, uid)).toBe(1));

    const sent = server.requests.filter(mine);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((r) => r.at >= closing && r.status === 200)).toBe(true);
    const lastArrival = Math.max(...sent.map((r) => r.at));
    const all = await samples();
    expect(sumOf(all, M.sessions, { dashboard_uid: uid })).toBe(1);
    // The tab was open from the mount to its pagehide, which came after `closing` and before the request arrived.
    const duration = sumOf(all, M.durationSum, { dashboard_uid: uid });
    expect(duration).toBeGreaterThanOrEqual((closing - mountDone) / 1000 - 0.05);
    expect(duration).toBeLessThanOrEqual((lastArrival - mountStarted) / 1000 + 0.05);
  });

  describe('a collector outage', { concurrent: false }, () => {
    const VARIABLE = { name: 'env', values: ['prod'] };
    const QUERIES = [
      { duration: 250 },
      { duration: 500, error: 'bad gateway' },
      { duration: 1000 },
      { duration: 2000 },
    ] as const;
    /** What the steps below record: the variable's first value at the start, then three picks, four queries. */
    const EXPECTED = [
      [M.sessions, {}, 1],
      [M.variables, { variable_name: 'env', variable_value: 'prod' }, 1],
      [M.variables, { variable_name: 'env', variable_value: 'blue' }, 1],
      [M.variables, { variable_name: 'env', variable_value: 'green' }, 1],
      [M.variables, { variable_name: 'env', variable_value: 'red' }, 1],
      [M.queries, { datasource_type: 'prometheus' }, 4],
      [M.queryErrors, { datasource_type: 'prometheus' }, 1],
      [M.queryDurationCount, {}, 4],
      // 0.25 + 0.5 + 1 + 2: exact in binary floating point.
      [M.queryDurationSum, {}, 3.75],
    ] as const;

    /** The user picks three values and the dashboard runs four queries, spread over `spreadMs`. */
    async function doCountableThings(harness: RemoteHarness, spreadMs: number): Promise<void> {
      const step = spreadMs / 3;
      for (const [i, value] of ['blue', 'green', 'red'].entries()) {
        await harness.setVariable('env', [value]);
        const query = QUERIES[i]!;
        await harness.emitDataRequest({
          datasourceType: 'prometheus',
          datasourceUid: 'prom',
          datasourceName: 'Prometheus',
          ...query,
        });
        await sleep(step);
      }
      await harness.emitDataRequest({
        datasourceType: 'prometheus',
        datasourceUid: 'prom',
        datasourceName: 'Prometheus',
        ...QUERIES[3],
      });
    }

    /** The dashboard, mounted a moment before the outage: its start is recorded but not yet exported. */
    function openBeforeOutage(uid: string): Promise<OpenDashboard> {
      return open(uid, { variables: [VARIABLE] });
    }

    scenario('502s from the proxy for several exports: every count arrives once the collector is back', async () => {
      const uid = 'outage-502';
      const { harness } = await openBeforeOutage(uid);

      const down = Date.now();
      server.setMode('down');
      await doCountableThings(harness, 2_000);
      await eventually(async () =>
        expect(server.requests.filter((r) => r.at >= down && r.status === 502).length).toBeGreaterThanOrEqual(3)
      );
      expect(await value(M.sessions, uid)).toBe(0);
      server.setMode('up');

      await expectExactly(uid, EXPECTED);
      await expectNoPageErrors(harness);
    });

    scenario('a 503 with Retry-After: 3 holds every request back for 3 s; then every count arrives', async () => {
      const uid = 'outage-503';
      const { harness } = await openBeforeOutage(uid);

      const unavailable = Date.now();
      server.setMode('unavailable', 3);
      await doCountableThings(harness, 1_500);
      const [first] = await eventually(async () => {
        const answered = server.requests.filter((r) => r.at >= unavailable && r.status === 503);
        expect(answered.length).toBeGreaterThan(0);
        return answered;
      });
      await sleep(1_000);
      server.setMode('up');

      await expectExactly(uid, EXPECTED);
      // A request already on its way when the 503 came back may arrive just after it; nothing may be
      // sent later until Retry-After has passed.
      const early = server.requests.filter((r) => r.at > first!.at + 300 && r.at < first!.at + 3_000);
      expect(early.map((r) => `${r.status} at +${r.at - first!.at} ms`)).toEqual([]);
      expect(server.requests.some((r) => r.at >= first!.at + 3_000 && r.status === 200)).toBe(true);
      await expectNoPageErrors(harness);
    });

    scenario('a reload during the outage loses nothing and sends nothing twice', async () => {
      const uid = 'outage-reload';
      const { page, harness } = await openBeforeOutage(uid);

      const down = Date.now();
      server.setMode('down');
      await doCountableThings(harness, 1_500);
      // The counts have been tried (and refused) at least once before the reload.
      await eventually(async () => {
        const refused = server.requests.filter(
          (r) => r.at >= down && r.status === 502 && bodyText(r).includes('"blue"')
        );
        expect(refused.length).toBeGreaterThan(0);
      });
      await expectNoPageErrors(harness);

      const reloading = Date.now();
      await page.reload();
      await harness.load(`${PLUGIN_PATH}/module.js`);
      await harness.mount({
        dashboard: { uid, title: `Dashboard ${uid}` },
        options: { ...FAST },
        variables: [VARIABLE],
      });
      expect(await trackerLoaded(page)).toBe(true);
      // The new page has the old page's counts (from the tab's sessionStorage) and is refused too.
      await eventually(async () => {
        const refused = server.requests.filter(
          (r) => r.at >= reloading && r.status === 502 && bodyText(r).includes('"blue"')
        );
        expect(refused.length).toBeGreaterThan(0);
      });
      server.setMode('up');

      // The reload resumed the session (still one), and the page before it recorded the session's
      // duration up to its pagehide: that arrives once too.
      await expectExactly(uid, [...EXPECTED, [M.durationCount, {}, 1]]);
      await expectNoPageErrors(harness);
    });
  });

  // Last in the set: it reads everything the browser sent in the tests above.
  scenario(
    'on the wire: no login, name, e-mail or user id, the session cookie, the default path, small bodies',
    async () => {
      const sent = [...server.requests];
      expect(sent.length, 'this test reads what the tests before it in the set sent').toBeGreaterThan(20);
      const marks = [USER.login, USER.name, USER.email, USER.uid].map((s) => s.toLowerCase());
      /** What is wrong with each request, as `#<index>: <what>`, so a failure names the request and the leak. */
      const problems: string[] = [];
      for (const [index, request] of sent.entries()) {
        const problem = (what: string) => problems.push(`#${index} (${request.body.length} bytes): ${what}`);
        const text = bodyText(request);
        if (request.method !== 'POST' || request.path !== METRICS_PATH) {
          problem(`${request.method} ${request.path}`);
        }
        if (!/^application\/json/.test(request.headers['content-type'] ?? '')) {
          problem(`content-type ${request.headers['content-type']}`);
        }
        if (!(request.headers.cookie ?? '').includes(`grafana_session=${server.sessionToken}`)) {
          problem('no grafana_session cookie');
        }
        // Well under the 60 000 bytes the panel allows itself of the browser's 64 KiB keepalive budget.
        if (request.body.length >= 30_000) {
          problem('body not well under the keepalive budget');
        }
        for (const mark of marks) {
          if (text.toLowerCase().includes(mark)) {
            problem(`contains ${JSON.stringify(mark)}`);
          }
        }
        for (const key of PERSONAL_KEYS) {
          if (text.includes(`"${key}"`)) {
            problem(`has the key ${key}`);
          }
        }
        const attributes = keyValues(JSON.parse(text));
        if (attributes.length === 0) {
          problem('no attributes at all');
        }
        for (const a of attributes) {
          if (a.value === USER.id || a.value === String(USER.id)) {
            problem(`${a.key} is the user id`);
          }
        }
      }
      expect(problems).toEqual([]);

      // The check can fail: with the opt-in on, the login and name are on the wire.
      const uid = 'identity';
      const { harness } = await open(uid, { options: { ...FAST, sendIdentity: true } });
      const mine = await eventually(async () => {
        const found = server.requests.filter((r) => r.status === 200 && bodyText(r).includes(`"${uid}"`));
        expect(found.length).toBeGreaterThan(0);
        return found;
      });
      const attributes = mine.flatMap((r) => keyValues(JSON.parse(bodyText(r))));
      expect(attributes).toContainEqual({ key: 'user.login', value: USER.login });
      expect(attributes).toContainEqual({ key: 'user.name', value: USER.name });
      // The collector's default privacy policy still keeps them out of /metrics.
      expect((await scrape(collector.url)).text).not.toContain(USER.login);
      await expectNoPageErrors(harness);
    }
  );
});
