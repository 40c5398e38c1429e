/**
 * The real OpenTelemetry JS exporters as clients. Each simulated browser tab is its own MeterProvider
 * with a PeriodicExportingMetricReader (export cycles driven by forceFlush) and an OTLP/HTTP exporter,
 * JSON (@opentelemetry/exporter-metrics-otlp-http) or protobuf (@opentelemetry/exporter-metrics-otlp-proto),
 * some with gzip. What the tabs record is kept in a ledger, and /metrics must show exactly that.
 */
import { diag, DiagLogLevel, type Attributes, type DiagLogger } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowser, type Protocol, type SimulatedBrowser } from './support/browsers.ts';
import { startCollector, type RunningCollector } from './support/collector.ts';
import { scrape, sumOf, type Sample } from './support/exposition.ts';
import { catalogBuckets } from './support/otlp.ts';

const SESSIONS = 'grafana_analytics_sessions_total';
const ENGAGED = 'footfall_dashboard_engaged_seconds_total';
const LEGACY_DURATION = 'grafana_analytics_sessions_duration_seconds_total';
const SESSION_DURATION = 'footfall_dashboard_session_duration_seconds';
const QUERY_DURATION = 'footfall_dashboard_query_duration_seconds';
const STATES = ['focused', 'visible', 'hidden'] as const;
const HOST = 'grafana.example.net';
const PERSONAL_LABELS = ['user_login', 'user_name', 'user_email', 'user_id'];

interface Person {
  readonly login: string;
  readonly name: string;
  readonly email: string;
  readonly id: string;
}

/** Distinctive values, so that finding any of them in /metrics can only mean a leak. */
const PEOPLE = {
  alice: {
    login: 'alice.lindqvist',
    name: 'Alice Lindqvist',
    email: 'alice.lindqvist@corp.example',
    id: 'uid-4711-alice',
  },
  bob: { login: 'bob.okonkwo', name: 'Bob Okonkwo', email: 'bob.okonkwo@corp.example', id: 'uid-4712-bob' },
  carol: { login: 'carol.marchetti', name: 'Carol Marchetti', email: 'c.marchetti@corp.example', id: 'uid-4713-carol' },
  dave: { login: 'dave.nakamura', name: 'Dave Nakamura', email: 'dave.n@corp.example', id: 'uid-4714-dave' },
} as const satisfies Record<string, Person>;

const ALL_PERSONAL_VALUES = Object.values(PEOPLE).flatMap((p) => [p.login, p.name, p.email, p.id]);

/** How a tab spells the user attribute keys: the policy must catch every spelling. */
interface UserKeys {
  readonly login: string;
  readonly name: string;
  readonly email: string;
  readonly id: string;
}
const STANDARD_KEYS: UserKeys = { login: 'user.login', name: 'user.name', email: 'user.email', id: 'user.id' };
// `user-login` and `user name` become the declared labels user_login and user_name unless the policy catches them.
const ODD_KEYS: UserKeys = { login: 'user-login', name: 'user name', email: 'User.Email', id: 'USER_ID' };

function userAttributes(person: Person, keys: UserKeys = STANDARD_KEYS): Attributes {
  return { [keys.login]: person.login, [keys.name]: person.name, [keys.email]: person.email, [keys.id]: person.id };
}

const DASHBOARDS = [
  { uid: 'ops-overview', name: 'Ops overview' },
  { uid: 'sales-kpis', name: 'Sales KPIs' },
] as const;

// Multiples of 1/32: every sum of them is exact in binary floating point, whatever the order of addition.
const SESSION_SECONDS = [4, 10, 10.5, 45.25, 300, 900, 3600, 7300.5, 28800, 30000];
const QUERY_SECONDS = [0.03125, 0.25, 0.5, 0.75, 2.5, 7, 59.5, 61, 120, 1];

/** What was recorded, with the labels it must come out with in /metrics. */
interface Recorded {
  readonly metric: string;
  readonly value: number;
  readonly labels: Readonly<Record<string, string>>;
}

class Ledger {
  readonly entries: Recorded[] = [];

  add(metric: string, value: number, labels: Record<string, string>): void {
    this.entries.push({ metric, value, labels });
  }

  private matching(metric: string, match: Record<string, string>): Recorded[] {
    return this.entries.filter(
      (e) => e.metric === metric && Object.entries(match).every(([k, v]) => e.labels[k] === v)
    );
  }

  sum(metric: string, match: Record<string, string> = {}): number {
    return this.matching(metric, match).reduce((t, e) => t + e.value, 0);
  }

  count(metric: string, match: Record<string, string> = {}): number {
    return this.matching(metric, match).length;
  }

  /** Cumulative bucket count: values ≤ le (OTel explicit buckets are upper-inclusive). */
  bucket(metric: string, le: number, match: Record<string, string> = {}): number {
    return this.matching(metric, match).filter((e) => e.value <= le).length;
  }
}

function seriesOf(samples: readonly Sample[], name: string): Sample[] {
  return samples.filter((s) => s.name === name);
}

function labelNamesOf(samples: readonly Sample[]): Set<string> {
  return new Set(samples.flatMap((s) => Object.keys(s.labels)));
}

/** Checks a histogram family against the ledger: _count, _sum and every cumulative _bucket, +Inf included. */
function expectHistogram(
  samples: readonly Sample[],
  family: string,
  buckets: readonly number[],
  ledger: Ledger,
  match: Record<string, string> = {}
): void {
  const count = ledger.count(family, match);
  expect(count).toBeGreaterThan(0);
  expect(sumOf(samples, `${family}_count`, match)).toBe(count);
  expect(sumOf(samples, `${family}_sum`, match)).toBe(ledger.sum(family, match));
  for (const le of buckets) {
    expect(sumOf(samples, `${family}_bucket`, { ...match, le: String(le) }), `${family} le=${le}`).toBe(
      ledger.bucket(family, le, match)
    );
  }
  expect(sumOf(samples, `${family}_bucket`, { ...match, le: '+Inf' })).toBe(count);
}

describe('four browsers (JSON, protobuf, gzip) over three export cycles, default privacy policy', () => {
  interface Tab {
    readonly browser: SimulatedBrowser;
    readonly person: Person;
    readonly role: string;
    readonly keys: UserKeys;
    /** User attributes on the resource instead of on each point. */
    readonly userOnResource: boolean;
  }

  const ledger = new Ledger();
  const tabs: Tab[] = [];
  let c: RunningCollector;
  let samples: Sample[];
  let text: string;
  const CYCLES = 3;

  beforeAll(async () => {
    c = await startCollector();
    const tab = (
      protocol: Protocol,
      gzip: boolean,
      person: Person,
      role: string,
      keys: UserKeys,
      userOnResource = false
    ): Tab => ({
      browser: createBrowser({
        url: c.url,
        protocol,
        gzip,
        resource: { 'grafana.host': HOST, ...(userOnResource ? userAttributes(person, keys) : {}) },
      }),
      person,
      role,
      keys,
      userOnResource,
    });
    tabs.push(
      tab('json', false, PEOPLE.alice, 'Admin', STANDARD_KEYS),
      tab('protobuf', false, PEOPLE.bob, 'Viewer', STANDARD_KEYS),
      tab('json', true, PEOPLE.carol, 'Viewer', ODD_KEYS),
      tab('protobuf', true, PEOPLE.dave, 'Editor', STANDARD_KEYS, true)
    );

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      tabs.forEach(({ browser, person, role, keys, userOnResource }, i) => {
        const personal: Attributes = userOnResource
          ? // A client-made pseudonym must not be trusted either: here it is the raw login.
            { 'user.hash': person.login }
          : userAttributes(person, keys);
        for (const [d, dashboard] of DASHBOARDS.entries()) {
          const shown = {
            dashboard_uid: dashboard.uid,
            dashboard_name: dashboard.name,
            grafana_host: HOST,
            user_role: role,
          };
          const attrs: Attributes = {
            'dashboard.uid': dashboard.uid,
            'dashboard.name': dashboard.name,
            'user.role': role,
            ...personal,
          };
          // Sessions: a varying number per cycle, some cycles none on the second dashboard.
          const sessions = d === 0 ? 1 + ((i + cycle) % 3) : (i + cycle) % 2;
          for (let s = 0; s < sessions; s++) {
            browser.sessions.add(1, attrs);
          }
          if (sessions > 0) {
            ledger.add(SESSIONS, sessions, shown);
          }
          // Engaged time per state, in two increments each.
          for (const [k, state] of STATES.entries()) {
            const first = 0.25 * (1 + i + 3 * cycle + k + d);
            const second = 1.5 * (k + 1);
            browser.engagedTime.add(first, { ...attrs, 'engagement.state': state });
            browser.engagedTime.add(second, { ...attrs, 'engagement.state': state });
            ledger.add(ENGAGED, first + second, { ...shown, engagement_state: state });
          }
          // Histograms: values on both sides of the catalog boundaries, some exactly on one, some past the last.
          for (let j = 0; j < 3; j++) {
            const v = SESSION_SECONDS[(i * 3 + cycle * 2 + j + d) % SESSION_SECONDS.length]!;
            browser.sessionDuration.record(v, attrs);
            ledger.add(SESSION_DURATION, v, shown);
          }
          for (let j = 0; j < 4; j++) {
            const v = QUERY_SECONDS[(i * 2 + cycle * 3 + j + d) % QUERY_SECONDS.length]!;
            const datasource = j % 2 === 0 ? 'prometheus' : 'loki';
            browser.queryDuration.record(v, { ...attrs, 'datasource.type': datasource });
            // user.role is not declared for query durations: the series are per dashboard and data source.
            const { user_role: _role, ...queryShown } = shown;
            ledger.add(QUERY_DURATION, v, { ...queryShown, datasource_type: datasource });
          }
        }
      });
      // Every tab exports once per cycle: the collector sees the deltas interleaved across tabs.
      const exports = await Promise.all(tabs.map((t) => t.browser.flush()));
      expect(exports).toEqual(tabs.map(() => 1));
    }
    ({ samples, text } = await scrape(c.url));
  });

  afterAll(async () => {
    await Promise.all(tabs.map((t) => t.browser.shutdown()));
    await c?.close();
  });

  it('accepts every export of both encodings, and counts them by encoding', () => {
    const exportsBy = (protocol: Protocol) =>
      tabs.filter((t) => t.browser.protocol === protocol).reduce((n, t) => n + t.browser.exports.length, 0);
    expect(exportsBy('json')).toBe(2 * CYCLES);
    expect(exportsBy('protobuf')).toBe(2 * CYCLES);
    expect(sumOf(samples, 'footfall_collector_requests_total', { code: '200', reason: 'ok', encoding: 'json' })).toBe(
      2 * CYCLES
    );
    expect(
      sumOf(samples, 'footfall_collector_requests_total', { code: '200', reason: 'ok', encoding: 'protobuf' })
    ).toBe(2 * CYCLES);
    expect(sumOf(samples, 'footfall_collector_requests_total', { reason: 'partial' })).toBe(0);
    expect(sumOf(samples, 'footfall_collector_points_refused_total')).toBe(0);
  });

  it('counts sessions exactly, per dashboard and per series, across tabs and cycles', () => {
    for (const { uid } of DASHBOARDS) {
      expect(ledger.sum(SESSIONS, { dashboard_uid: uid })).toBeGreaterThan(0);
      expect(sumOf(samples, SESSIONS, { dashboard_uid: uid }), uid).toBe(ledger.sum(SESSIONS, { dashboard_uid: uid }));
      for (const role of ['Admin', 'Viewer', 'Editor']) {
        // Viewer: bob (protobuf) and carol (JSON + gzip) land in the same series.
        expect(sumOf(samples, SESSIONS, { dashboard_uid: uid, user_role: role }), `${uid} ${role}`).toBe(
          ledger.sum(SESSIONS, { dashboard_uid: uid, user_role: role })
        );
      }
    }
    expect(sumOf(samples, SESSIONS)).toBe(ledger.sum(SESSIONS));
    // One series per dashboard and role, labelled with the declared attributes only (the resource's
    // grafana.host included, service.name and the SDK's telemetry.* not).
    const series = seriesOf(samples, SESSIONS);
    expect(series).toHaveLength(DASHBOARDS.length * 3);
    expect([...labelNamesOf(series)].sort()).toEqual(['dashboard_name', 'dashboard_uid', 'grafana_host', 'user_role']);
  });

  it('counts engaged seconds per state, and the legacy duration from focused + visible only', () => {
    for (const state of STATES) {
      expect(sumOf(samples, ENGAGED, { engagement_state: state }), state).toBe(
        ledger.sum(ENGAGED, { engagement_state: state })
      );
      for (const { uid } of DASHBOARDS) {
        expect(sumOf(samples, ENGAGED, { engagement_state: state, dashboard_uid: uid })).toBe(
          ledger.sum(ENGAGED, { engagement_state: state, dashboard_uid: uid })
        );
      }
    }
    const active = (match: Record<string, string>) =>
      ledger.sum(ENGAGED, { ...match, engagement_state: 'focused' }) +
      ledger.sum(ENGAGED, { ...match, engagement_state: 'visible' });
    expect(ledger.sum(ENGAGED, { engagement_state: 'hidden' })).toBeGreaterThan(0);
    expect(sumOf(samples, LEGACY_DURATION)).toBe(active({}));
    for (const { uid } of DASHBOARDS) {
      for (const role of ['Admin', 'Viewer', 'Editor']) {
        expect(sumOf(samples, LEGACY_DURATION, { dashboard_uid: uid, user_role: role })).toBe(
          active({ dashboard_uid: uid, user_role: role })
        );
      }
    }
    const legacy = seriesOf(samples, LEGACY_DURATION);
    expect(legacy).toHaveLength(DASHBOARDS.length * 3);
    expect(labelNamesOf(legacy).has('engagement_state')).toBe(false);
  });

  it('merges the histograms exactly: _count, _sum and every cumulative bucket', () => {
    const sessionBuckets = catalogBuckets('grafana.dashboard.session.duration');
    const queryBuckets = catalogBuckets('grafana.dashboard.query.duration');
    expectHistogram(samples, SESSION_DURATION, sessionBuckets, ledger);
    expectHistogram(samples, QUERY_DURATION, queryBuckets, ledger);
    // Per series as well: the Viewer series mixes protobuf and JSON + gzip tabs.
    expectHistogram(samples, SESSION_DURATION, sessionBuckets, ledger, { dashboard_uid: 'ops-overview' });
    expectHistogram(samples, QUERY_DURATION, queryBuckets, ledger, { dashboard_uid: 'sales-kpis' });
    expect([...labelNamesOf(seriesOf(samples, `${SESSION_DURATION}_count`))].sort()).toEqual([
      'dashboard_name',
      'dashboard_uid',
      'grafana_host',
    ]);
    // The lean label set: neither role nor data source type multiplies a histogram's 13 series.
    expect([...labelNamesOf(seriesOf(samples, `${QUERY_DURATION}_count`))].sort()).toEqual([
      'dashboard_name',
      'dashboard_uid',
      'grafana_host',
    ]);
    // The data used: values on a boundary, inside, and past the last boundary all occur.
    expect(ledger.bucket(SESSION_DURATION, 28800)).toBeLessThan(ledger.count(SESSION_DURATION));
    expect(ledger.bucket(QUERY_DURATION, 60)).toBeLessThan(ledger.count(QUERY_DURATION));
  });

  it('lets no personal attribute through: no user label, no login, name, e-mail or id value anywhere', () => {
    const names = labelNamesOf(samples);
    for (const label of [...PERSONAL_LABELS, 'user_hash']) {
      expect(names.has(label), label).toBe(false);
    }
    for (const value of ALL_PERSONAL_VALUES) {
      expect(text.includes(value), value).toBe(false);
    }
    // The policy did work (so the checks above are not vacuous), and kept what is not personal.
    expect(sumOf(samples, 'footfall_collector_attributes_dropped_total', { reason: 'privacy' })).toBeGreaterThan(0);
    expect(names.has('user_role')).toBe(true);
  });
});

describe('keyed hashing of the user', () => {
  const SECRET = 'footfall-test-secret-0123456789';
  const browsers: SimulatedBrowser[] = [];
  const collectors: RunningCollector[] = [];

  afterAll(async () => {
    await Promise.all(browsers.map((b) => b.shutdown()));
    await Promise.all(collectors.map((c) => c.close()));
  });

  async function hashing(secret: string): Promise<RunningCollector> {
    const c = await startCollector({ privacy: { hash: { enabled: true, secret } } });
    collectors.push(c);
    return c;
  }

  function browser(url: string, protocol: Protocol, gzip = false): SimulatedBrowser {
    const b = createBrowser({ url, protocol, gzip, resource: { 'grafana.host': HOST } });
    browsers.push(b);
    return b;
  }

  function hashOf(samples: readonly Sample[], name: string, uid: string): string {
    const series = samples.filter((s) => s.name === name && s.labels.dashboard_uid === uid);
    expect(series, `${name} ${uid}`).toHaveLength(1);
    const hash = series[0]!.labels.user_hash;
    expect(hash, `${name} ${uid} user_hash`).toMatch(/^[0-9a-f]{16,64}$/);
    return hash!;
  }

  it('gives each user one stable user_hash, distinct users distinct hashes, and never the raw identity', async () => {
    const c = await hashing(SECRET);
    // Alice in two tabs (JSON; protobuf + gzip), Bob, and Carol who spells her keys oddly and sends
    // a forged user.hash.
    const tabs: Array<{ b: SimulatedBrowser; uid: string; attrs: Attributes }> = [
      { b: browser(c.url, 'json'), uid: 'h-alice-1', attrs: userAttributes(PEOPLE.alice) },
      { b: browser(c.url, 'protobuf', true), uid: 'h-alice-2', attrs: userAttributes(PEOPLE.alice) },
      // An e-mail address in a value that is not personal by its key is redacted.
      {
        b: browser(c.url, 'json'),
        uid: 'h-bob',
        attrs: { ...userAttributes(PEOPLE.bob), 'dashboard.name': `Bob's board (${PEOPLE.bob.email})` },
      },
      {
        b: browser(c.url, 'protobuf'),
        uid: 'h-carol',
        attrs: { ...userAttributes(PEOPLE.carol, ODD_KEYS), 'user.hash': 'forged-by-client' },
      },
    ];
    for (let cycle = 1; cycle <= 2; cycle++) {
      for (const { b, uid, attrs } of tabs) {
        b.sessions.add(cycle, { 'dashboard.uid': uid, ...attrs });
        b.engagedTime.add(2.5, { 'dashboard.uid': uid, 'engagement.state': 'focused', ...attrs });
      }
      await Promise.all(tabs.map(({ b }) => b.flush()));
    }
    const { samples, text } = await scrape(c.url);

    const hash = new Map(tabs.map(({ uid }) => [uid, hashOf(samples, SESSIONS, uid)]));
    expect(hash.get('h-alice-1')).toBe(hash.get('h-alice-2'));
    expect(new Set(hash.values()).size).toBe(3);
    expect([...hash.values()]).not.toContain('forged-by-client');
    // The same user gets the same pseudonym in every metric that carries it.
    for (const { uid } of tabs) {
      expect(hashOf(samples, ENGAGED, uid)).toBe(hash.get(uid));
    }
    // Counting is unaffected: 1 + 2 sessions and 2 × 2.5 s per tab.
    for (const { uid } of tabs) {
      expect(sumOf(samples, SESSIONS, { dashboard_uid: uid })).toBe(3);
      expect(sumOf(samples, ENGAGED, { dashboard_uid: uid })).toBe(5);
      expect(sumOf(samples, LEGACY_DURATION, { dashboard_uid: uid })).toBe(5);
    }

    const names = labelNamesOf(samples);
    for (const label of PERSONAL_LABELS) {
      expect(names.has(label), label).toBe(false);
    }
    for (const value of ALL_PERSONAL_VALUES) {
      expect(text.includes(value), value).toBe(false);
    }
    expect(text.includes('forged-by-client')).toBe(false);
    expect(samples.find((s) => s.name === SESSIONS && s.labels.dashboard_uid === 'h-bob')?.labels.dashboard_name).toBe(
      '<redacted>'
    );

    // The hash is keyed: another secret gives Alice another pseudonym.
    const other = await hashing('another-secret-of-enough-length');
    const alice = browser(other.url, 'json');
    alice.sessions.add(1, { 'dashboard.uid': 'h-alice-1', ...userAttributes(PEOPLE.alice) });
    await alice.flush();
    const otherHash = hashOf((await scrape(other.url)).samples, SESSIONS, 'h-alice-1');
    expect(otherHash).not.toBe(hash.get('h-alice-1'));
  });
});

describe('an exporter left at CUMULATIVE temporality', () => {
  const warnings: string[] = [];
  const capture: DiagLogger = {
    error: () => {},
    warn: (message: string, ...args: unknown[]) => void warnings.push([message, ...args].map(String).join(' ')),
    info: () => {},
    debug: () => {},
    verbose: () => {},
  };
  const browsers: SimulatedBrowser[] = [];
  let c: RunningCollector;

  beforeAll(async () => {
    c = await startCollector();
    // The exporter reports a partial success only through the diagnostic logger.
    diag.setLogger(capture, DiagLogLevel.WARN);
  });

  afterAll(async () => {
    await Promise.all(browsers.map((b) => b.shutdown()));
    diag.disable();
    await c?.close();
  });

  it('is refused with a partial success naming DELTA; its points never reach /metrics and nothing is double counted', async () => {
    const delta = createBrowser({ url: c.url, protocol: 'json', resource: { 'grafana.host': HOST } });
    const cumJson = createBrowser({
      url: c.url,
      protocol: 'json',
      temporality: 'cumulative',
      resource: { 'grafana.host': HOST },
    });
    const cumProto = createBrowser({
      url: c.url,
      protocol: 'protobuf',
      gzip: true,
      temporality: 'cumulative',
      resource: { 'grafana.host': HOST },
    });
    browsers.push(delta, cumJson, cumProto);
    const shared = { 'dashboard.uid': 'shared' };

    for (const [cycle, n] of [3, 4].entries()) {
      delta.sessions.add(n, shared);
      delta.engagedTime.add(1.25 * n, { ...shared, 'engagement.state': 'visible' });
      delta.sessionDuration.record(45, shared);
      for (const b of [cumJson, cumProto]) {
        b.sessions.add(5, shared);
        b.sessions.add(2, { 'dashboard.uid': 'cumulative-only' });
        b.engagedTime.add(100, { ...shared, 'engagement.state': 'focused' });
        b.sessionDuration.record(cycle === 0 ? 7 : 1000, { 'dashboard.uid': 'cumulative-only' });
      }
      const exported = await Promise.all([delta, cumJson, cumProto].map((b) => b.flush()));
      expect(exported).toEqual([1, 1, 1]);
    }

    // Each cumulative export sent 4 series (sessions ×2, engaged time, histogram), and a cumulative
    // reader sends them all again each cycle: 2 tabs × 2 cycles × 4 points, all refused.
    const partial = warnings.filter((w) => w.includes('Partial Success'));
    expect(partial).toHaveLength(4);
    let rejected = 0;
    for (const w of partial) {
      const body = JSON.parse(w.slice(w.indexOf('{'))) as { rejectedDataPoints: number | string; errorMessage: string };
      rejected += Number(body.rejectedDataPoints);
      expect(body.errorMessage).toMatch(/cumulative temporality; only DELTA is accepted/);
    }
    expect(rejected).toBe(16);

    const { samples } = await scrape(c.url);
    expect(sumOf(samples, 'footfall_collector_points_refused_total', { reason: 'not_delta' })).toBe(16);
    expect(sumOf(samples, 'footfall_collector_requests_total', { code: '200', reason: 'partial' })).toBe(4);
    // Only the DELTA tab counts, once per cycle.
    expect(sumOf(samples, SESSIONS, { dashboard_uid: 'shared' })).toBe(7);
    expect(sumOf(samples, ENGAGED)).toBe(1.25 * 7);
    expect(sumOf(samples, ENGAGED, { engagement_state: 'focused' })).toBe(0);
    expect(sumOf(samples, LEGACY_DURATION)).toBe(1.25 * 7);
    expect(sumOf(samples, `${SESSION_DURATION}_count`)).toBe(2);
    expect(sumOf(samples, `${SESSION_DURATION}_sum`)).toBe(90);
    expect(samples.some((s) => s.labels.dashboard_uid === 'cumulative-only')).toBe(false);
  });
});

describe('the series cap (limits.maxSeriesPerMetric: 3)', () => {
  const browsers: SimulatedBrowser[] = [];
  let c: RunningCollector;

  beforeAll(async () => {
    c = await startCollector({ limits: { maxSeriesPerMetric: 3 } });
  });
  afterAll(async () => {
    await Promise.all(browsers.map((b) => b.shutdown()));
    await c?.close();
  });

  it('keeps 3 real series, folds the other dashboards into one overflow series, and keeps totals exact', async () => {
    const json = createBrowser({ url: c.url, protocol: 'json', resource: { 'grafana.host': HOST } });
    const proto = createBrowser({ url: c.url, protocol: 'protobuf', gzip: true, resource: { 'grafana.host': HOST } });
    browsers.push(json, proto);
    const record = (b: SimulatedBrowser, uid: string, sessions: number) => {
      b.sessions.add(sessions, { 'dashboard.uid': uid });
      b.engagedTime.add(sessions / 2, { 'dashboard.uid': uid, 'engagement.state': 'focused' });
    };

    // Cycle 1: d1..d3 fill the cap.
    record(json, 'd1', 1);
    record(json, 'd2', 2);
    record(json, 'd3', 3);
    await json.flush();
    // Cycle 2: two new dashboards overflow; a known one keeps counting.
    record(proto, 'd4', 4);
    record(proto, 'd5', 5);
    record(proto, 'd1', 10);
    await proto.flush();
    // Cycle 3: both tabs, known and overflowing dashboards mixed.
    record(json, 'd2', 20);
    // (A browser tab cannot start more than 20 sessions a second: the collector refuses such points.)
    record(json, 'd5', 15);
    record(proto, 'd4', 14);
    record(proto, 'd3', 13);
    await Promise.all([json.flush(), proto.flush()]);

    const { samples } = await scrape(c.url);
    const overflow = { otel_metric_overflow: 'true' };
    for (const [name, scale] of [
      [SESSIONS, 1],
      [ENGAGED, 0.5],
      [LEGACY_DURATION, 0.5],
    ] as const) {
      expect(sumOf(samples, name, { dashboard_uid: 'd1' }), `${name} d1`).toBe(11 * scale);
      expect(sumOf(samples, name, { dashboard_uid: 'd2' }), `${name} d2`).toBe(22 * scale);
      expect(sumOf(samples, name, { dashboard_uid: 'd3' }), `${name} d3`).toBe(16 * scale);
      expect(sumOf(samples, name, overflow), `${name} overflow`).toBe((4 + 5 + 15 + 14) * scale);
      expect(sumOf(samples, name), `${name} total`).toBe(87 * scale);
      const series = seriesOf(samples, name);
      expect(series, name).toHaveLength(4);
      // The overflow series carries nothing of the points folded into it.
      expect(series.filter((s) => s.labels.otel_metric_overflow === 'true').map((s) => s.labels)).toEqual([overflow]);
    }
    expect(samples.some((s) => s.labels.dashboard_uid === 'd4' || s.labels.dashboard_uid === 'd5')).toBe(false);
    // Points folded: d4, d5 (cycle 2) and d5, d4 (cycle 3), per metric.
    expect(sumOf(samples, 'footfall_collector_series_overflow_total', { metric: 'grafana.dashboard.sessions' })).toBe(
      4
    );
    expect(
      sumOf(samples, 'footfall_collector_series_overflow_total', { metric: 'grafana.dashboard.engaged_time' })
    ).toBe(4);
    expect(sumOf(samples, 'footfall_collector_points_refused_total')).toBe(0);
  });
});
