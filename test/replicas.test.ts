/**
 * Several collector replicas behind a load balancer without session affinity: what Prometheus sums
 * over them must be exactly what the browsers sent. Nothing in the collector may need to see all of
 * a session's exports for the numbers to come out right.
 *
 * Two built collectors (`node dist/main.js`, default configuration) sit behind a balancer that sends
 * each browser's consecutive exports to alternate replicas. Real OTel JS SDK browsers (JSON and
 * protobuf exporters) play a seeded workload through it; a ledger keeps every value sent and the
 * replica that received it. One real Prometheus scrapes both replicas every second, and
 * `sum by (every label)` over them must equal the ledger: counters, the legacy series, histogram
 * _count, _sum and every _bucket. Each replica alone must hold exactly its own share, and neither
 * may have refused a point.
 */
import type { Attributes } from '@opentelemetry/api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC_CATALOG, PERSONAL_KEYS, type CatalogMetric } from '../packages/collector/src/index.ts';
import { createBrowser, type Protocol, type SimulatedBrowser } from './support/browsers.ts';
import { spawnCollector, type CollectorProcess } from './support/collector.ts';
import { scrape, sumOf } from './support/exposition.ts';
import { startLoadBalancer, type LoadBalancer } from './support/load-balancer.ts';
import { pollUntil, startPrometheus, type PrometheusServer } from './support/prometheus.ts';

const JOB = 'footfall-replicas';
const REPLICAS = 2;
/** Change it and the workload changes; the first test checks that it still spreads over both replicas. */
const SEED = 20_240_611;

// ---------------------------------------------------------------------------------------------------
// The workload
// ---------------------------------------------------------------------------------------------------

const GRAFANA = { 'grafana.host': 'grafana.example.org', 'grafana.env': 'prod' } as const;

const DASHBOARDS = [
  { 'dashboard.uid': 'ops-overview', 'dashboard.name': 'Ops overview', 'dashboard.timezone': 'utc' },
  { 'dashboard.uid': 'sales-kpis', 'dashboard.name': 'Sales KPIs', 'dashboard.timezone': 'browser' },
  { 'dashboard.uid': 'checkout-slo', 'dashboard.name': 'Checkout SLO', 'dashboard.timezone': 'utc' },
  { 'dashboard.uid': 'capacity', 'dashboard.name': 'Capacity planning', 'dashboard.timezone': 'Europe/Paris' },
] as const;

/** The user attributes a tab sends; user.login and user.name are personal and must not reach Prometheus. */
const USERS = [
  {
    'user.login': 'ana',
    'user.name': 'Ana Silva',
    'user.role': 'Viewer',
    'user.theme': 'dark',
    'user.timezone': 'Europe/Lisbon',
    'user.locale': 'pt-PT',
  },
  {
    'user.login': 'ben',
    'user.name': 'Ben Ode',
    'user.role': 'Viewer',
    'user.theme': 'light',
    'user.timezone': 'Africa/Lagos',
    'user.locale': 'en-NG',
  },
  {
    'user.login': 'chen',
    'user.name': 'Chen Wei',
    'user.role': 'Editor',
    'user.theme': 'dark',
    'user.timezone': 'Asia/Shanghai',
    'user.locale': 'zh-CN',
  },
  {
    'user.login': 'dora',
    'user.name': 'Dora Kiss',
    'user.role': 'Admin',
    'user.theme': 'dark',
    'user.timezone': 'Europe/Budapest',
    'user.locale': 'hu-HU',
  },
] as const;

const DATASOURCES = ['prometheus', 'loki', 'tempo'] as const;

// Every value is a multiple of 1/32 far below 2^48, so every sum of them is exact in binary floating
// point whatever the order of addition: the replicas and Prometheus may add in any order.
/** Query durations: some exactly on a catalog bucket boundary (0.25, 0.5, 1, 2.5, 10), one past the last. */
const QUERY_SECONDS = [0.03125, 0.25, 0.375, 0.5, 1, 2.5, 4.75, 10, 45.5, 61] as const;
/** Session lengths exactly on catalog boundaries, besides the quarters the generator draws. */
const SESSION_BOUNDARY_SECONDS = [10, 30, 60, 300, 3600, 28800] as const;
const quarters = (max: number): fc.Arbitrary<number> => fc.integer({ min: 0, max: 4 * max }).map((n) => n / 4);

/** One export cycle of one tab: what it recorded since the previous export. */
interface ExportPlan {
  readonly heartbeats: number;
  readonly engaged: { readonly focused: number; readonly visible: number; readonly hidden: number };
  readonly queries: ReadonlyArray<{ readonly datasource: string; readonly seconds: number }>;
}

/** One browser tab on one dashboard, from open to close. */
interface SessionPlan {
  readonly dashboard: (typeof DASHBOARDS)[number];
  readonly user: (typeof USERS)[number];
  /** Two to five exports: the first counts the session, the last records its length. */
  readonly exports: readonly ExportPlan[];
  readonly durationSeconds: number;
}

const exportPlan: fc.Arbitrary<ExportPlan> = fc.record({
  heartbeats: fc.integer({ min: 1, max: 4 }),
  engaged: fc.record({ focused: quarters(120), visible: quarters(60), hidden: quarters(600) }),
  queries: fc.array(
    fc.record({ datasource: fc.constantFrom(...DATASOURCES), seconds: fc.constantFrom(...QUERY_SECONDS) }),
    {
      maxLength: 4,
    }
  ),
});

const sessionPlan: fc.Arbitrary<SessionPlan> = fc.record({
  dashboard: fc.constantFrom(...DASHBOARDS),
  user: fc.constantFrom(...USERS),
  exports: fc.array(exportPlan, { minLength: 2, maxLength: 5 }),
  durationSeconds: fc.oneof(fc.constantFrom(...SESSION_BOUNDARY_SECONDS), quarters(30_000)),
});

/** Twelve tabs; even ones export OTLP/JSON, odd ones protobuf. */
const SESSIONS: readonly SessionPlan[] = fc.sample(sessionPlan, { seed: SEED, numRuns: 12 });
const protocolOf = (session: number): Protocol => (session % 2 === 0 ? 'json' : 'protobuf');

/** One measurement, as the panel makes it: an instrument of SimulatedBrowser, a value, point attributes. */
interface Measurement {
  readonly instrument: 'sessions' | 'engagedTime' | 'heartbeats' | 'queries' | 'sessionDuration' | 'queryDuration';
  readonly value: number;
  readonly attributes: Attributes;
}

const CATALOG_NAME: Record<Measurement['instrument'], string> = {
  sessions: 'grafana.dashboard.sessions',
  engagedTime: 'grafana.dashboard.engaged_time',
  heartbeats: 'grafana.dashboard.heartbeats',
  queries: 'grafana.dashboard.queries',
  sessionDuration: 'grafana.dashboard.session.duration',
  queryDuration: 'grafana.dashboard.query.duration',
};

/** The measurements a tab makes before its `index`-th export. */
function measurementsOf(session: SessionPlan, index: number): Measurement[] {
  const plan = session.exports[index]!;
  const base: Attributes = { ...session.dashboard, ...session.user };
  const out: Measurement[] = [];
  if (index === 0) {
    out.push({ instrument: 'sessions', value: 1, attributes: base });
  }
  out.push({ instrument: 'heartbeats', value: plan.heartbeats, attributes: base });
  for (const [state, seconds] of Object.entries(plan.engaged)) {
    // A zero would make a series whose existence depends on the SDK, not on the collector.
    if (seconds > 0) {
      out.push({ instrument: 'engagedTime', value: seconds, attributes: { ...base, 'engagement.state': state } });
    }
  }
  for (const q of plan.queries) {
    const attributes = { ...base, 'datasource.type': q.datasource };
    out.push(
      { instrument: 'queries', value: 1, attributes },
      { instrument: 'queryDuration', value: q.seconds, attributes }
    );
  }
  if (index === session.exports.length - 1) {
    out.push({ instrument: 'sessionDuration', value: session.durationSeconds, attributes: base });
  }
  return out;
}

function record(browser: SimulatedBrowser, m: Measurement): void {
  if (m.instrument === 'sessionDuration' || m.instrument === 'queryDuration') {
    browser[m.instrument].record(m.value, m.attributes);
  } else {
    browser[m.instrument].add(m.value, m.attributes);
  }
}

// ---------------------------------------------------------------------------------------------------
// The ledger: what was sent, as the Prometheus series it must end up in
// ---------------------------------------------------------------------------------------------------

/** A Prometheus metric family the workload feeds, with the labels it is summed by. */
interface Family {
  readonly name: string;
  readonly histogram: boolean;
  /** Label names: the catalog's attributes, dots as underscores, without the personal ones. */
  readonly labels: readonly string[];
  readonly buckets: readonly number[];
}

const PERSONAL = new Set<string>(PERSONAL_KEYS);

function familyOf(name: string, attributes: readonly string[], metric: CatalogMetric): Family {
  return {
    name,
    histogram: metric.kind === 'histogram',
    labels: attributes.filter((a) => !PERSONAL.has(a)).map((a) => a.replaceAll('.', '_')),
    buckets: metric.buckets ?? [],
  };
}

const catalogEntry = (name: string): CatalogMetric => METRIC_CATALOG.find((m) => m.name === name)!;

/** Every family checked: each instrument's own, and the legacy series derived from one. */
const FAMILIES: readonly Family[] = Object.values(CATALOG_NAME).flatMap((name) => {
  const metric = catalogEntry(name);
  const own = familyOf(metric.prometheus, metric.attributes, metric);
  return metric.legacy ? [own, familyOf(metric.legacy.prometheus, metric.legacy.attributes, metric)] : [own];
});

/** `name{a="1",b="2"}` with labels sorted: one key per Prometheus series, readable in a failure message. */
function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels)
    .filter(([k, v]) => k !== '__name__' && v !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${name}{${pairs.join(',')}}`;
}

interface LedgerEntry {
  readonly family: Family;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly replica: number;
}

class Ledger {
  private readonly entries: LedgerEntry[] = [];

  /** A measurement that reached `replica`, under the series of its family and of its legacy family. */
  add(m: Measurement, resource: Attributes, replica: number): void {
    const metric = catalogEntry(CATALOG_NAME[m.instrument]);
    const attributes: Attributes = { ...resource, ...m.attributes };
    const own = FAMILIES.find((f) => f.name === metric.prometheus)!;
    this.entries.push({ family: own, labels: labelsOf(own, attributes), value: m.value, replica });
    const legacy = metric.legacy;
    if (
      legacy &&
      (legacy.when === undefined || legacy.when.values.includes(String(attributes[legacy.when.attribute])))
    ) {
      const family = FAMILIES.find((f) => f.name === legacy.prometheus)!;
      this.entries.push({ family, labels: labelsOf(family, attributes), value: m.value, replica });
    }
  }

  /**
   * The value every series of `family` must have, summed over the replicas (or on one replica): a
   * counter's total; a histogram's _count, _sum and cumulative _bucket for each boundary and +Inf.
   */
  expected(family: Family, replica?: number): Map<string, number> {
    const series = new Map<string, number>();
    const add = (name: string, labels: Record<string, string>, value: number): void => {
      const key = seriesKey(name, labels);
      series.set(key, (series.get(key) ?? 0) + value);
    };
    for (const e of this.entries) {
      if (e.family !== family || (replica !== undefined && e.replica !== replica)) {
        continue;
      }
      if (!family.histogram) {
        add(family.name, e.labels, e.value);
        continue;
      }
      add(`${family.name}_count`, e.labels, 1);
      add(`${family.name}_sum`, e.labels, e.value);
      // OTel explicit buckets include their upper bound.
      for (const le of family.buckets) {
        add(`${family.name}_bucket`, { ...e.labels, le: String(le) }, e.value <= le ? 1 : 0);
      }
      add(`${family.name}_bucket`, { ...e.labels, le: '+Inf' }, 1);
    }
    return series;
  }

  /** A counter's total, or a histogram's number of observations, over all its series. */
  total(family: Family, replica?: number): number {
    return this.entries
      .filter((e) => e.family === family && (replica === undefined || e.replica === replica))
      .reduce((t, e) => t + (family.histogram ? 1 : e.value), 0);
  }
}

/** The labels a measurement's series carries in `family`: its declared attributes that have a value. */
function labelsOf(family: Family, attributes: Attributes): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    const label = key.replaceAll('.', '_');
    if (family.labels.includes(label) && value !== undefined && value !== '') {
      labels[label] = String(value);
    }
  }
  return labels;
}

/** Differences between two sets of series, one line each; empty when they are equal. */
function differences(sent: ReadonlyMap<string, number>, stored: ReadonlyMap<string, number>): string[] {
  const keys = [...new Set([...sent.keys(), ...stored.keys()])].sort();
  return keys
    .filter((k) => sent.get(k) !== stored.get(k))
    .map((k) => `${k}: sent ${sent.get(k) ?? 'nothing'}, Prometheus has ${stored.get(k) ?? 'no series'}`);
}

// ---------------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------------

describe('two collector replicas without sticky routing, summed by Prometheus', () => {
  const ledger = new Ledger();
  let replicas: CollectorProcess[] = [];
  let balancer: LoadBalancer | undefined;
  let prometheus: PrometheusServer | undefined;
  /** Prometheus' `instance` label of each replica. */
  let instances: string[] = [];

  /**
   * Plays the workload: in each cycle every tab still open records its measurements and exports them,
   * all tabs at once; the balancer says which replica got the export, and the ledger books it there.
   */
  async function playWorkload(lb: LoadBalancer): Promise<void> {
    const tabs = SESSIONS.map((_, i) =>
      createBrowser({ url: lb.clientUrl(`tab-${i}`), protocol: protocolOf(i), resource: GRAFANA })
    );
    try {
      const cycles = Math.max(...SESSIONS.map((s) => s.exports.length));
      for (let cycle = 0; cycle < cycles; cycle++) {
        const open = SESSIONS.flatMap((session, i) => (cycle < session.exports.length ? [{ session, i }] : []));
        await Promise.all(
          open.map(async ({ session, i }) => {
            const measurements = measurementsOf(session, cycle);
            for (const m of measurements) {
              record(tabs[i]!, m);
            }
            const exports = await tabs[i]!.flush();
            if (exports !== 1) {
              throw new Error(`tab-${i} made ${exports} exports in cycle ${cycle}, expected 1`);
            }
            const routed = lb.routed.filter((r) => r.client === `tab-${i}`);
            for (const m of measurements) {
              ledger.add(m, GRAFANA, routed.at(-1)!.replica);
            }
          })
        );
      }
    } finally {
      await Promise.all(tabs.map((t) => t.shutdown()));
    }
  }

  beforeAll(async () => {
    replicas = await Promise.all(Array.from({ length: REPLICAS }, () => spawnCollector()));
    instances = replicas.map((r) => new URL(r.url).host);
    balancer = await startLoadBalancer(replicas.map((r) => r.url));
    // Prometheus takes ~6 s to discover its targets: play the workload meanwhile.
    // allSettled: a Prometheus that started must be stopped even when the workload failed.
    const [started, played] = await Promise.allSettled([
      startPrometheus({ job: JOB, targets: instances }),
      playWorkload(balancer),
    ]);
    if (started.status === 'fulfilled') {
      prometheus = started.value;
    }
    for (const outcome of [started, played]) {
      if (outcome.status === 'rejected') {
        throw outcome.reason;
      }
    }
    const lastAnswer = Date.now() / 1000;
    // A scrape that started after the last export was answered holds all the data. Prometheus may
    // align a scrape's timestamp by up to 2 ms, hence the margin. timestamp() must take the selector
    // itself: of any other expression it gives the evaluation time.
    const successfulScrapes = `timestamp(up{job="${JOB}"}) and on (instance) up{job="${JOB}"} == 1`;
    const scrapedAt = await pollUntil(
      async () => (await prometheus!.query(successfulScrapes)).map((r) => r.value),
      (times) => times.length === REPLICAS && times.every((t) => t > lastAnswer + 0.01),
      15_000
    );
    if (scrapedAt.length !== REPLICAS || scrapedAt.some((t) => t <= lastAnswer + 0.01)) {
      const targets = await prometheus!.targets();
      throw new Error(
        `no scrape of both replicas after the last export (at ${lastAnswer}): ${JSON.stringify(scrapedAt)}; ` +
          `targets: ${JSON.stringify(targets.map((t) => ({ url: t.scrapeUrl, health: t.health, lastError: t.lastError })))}`
      );
    }
  });

  afterAll(async () => {
    await prometheus?.stop();
    await balancer?.close();
    await Promise.all(replicas.map((r) => r.stop()));
  });

  /** `sum by (__name__, the family's labels[, le])` over the family's series, on one replica or all. */
  async function stored(family: Family, replica?: number): Promise<{ expr: string; series: Map<string, number> }> {
    const instance = replica === undefined ? '' : `,instance="${instances[replica]}"`;
    const selector = family.histogram
      ? `{__name__=~"${family.name}_(bucket|count|sum)",job="${JOB}"${instance}}`
      : `${family.name}{job="${JOB}"${instance}}`;
    const by = ['__name__', ...family.labels, ...(family.histogram ? ['le'] : [])];
    const expr = `sum by (${by.join(', ')}) (${selector})`;
    const result = await prometheus!.query(expr);
    return {
      expr,
      series: new Map(result.map((r) => [seriesKey(r.metric.__name__ ?? family.name, r.metric), r.value])),
    };
  }

  it('sends a workload that needs both replicas: every tab alternates between them, JSON and protobuf', async () => {
    const routed = balancer!.routed;
    expect(
      routed.filter((r) => r.status !== 200),
      'exports not answered 200'
    ).toEqual([]);
    for (let i = 0; i < SESSIONS.length; i++) {
      const path = routed.filter((r) => r.client === `tab-${i}`).map((r) => r.replica);
      expect(path, `tab-${i}: the replica of each export`).toHaveLength(SESSIONS[i]!.exports.length);
      for (let k = 1; k < path.length; k++) {
        expect(path[k], `tab-${i}: export ${k} went where export ${k - 1} went`).not.toBe(path[k - 1]);
      }
    }
    expect(
      new Set(SESSIONS.map((s) => s.dashboard['dashboard.uid'])).size,
      'dashboards in the workload'
    ).toBeGreaterThanOrEqual(3);
    expect(new Set(SESSIONS.map((s) => s.user['user.role'])).size, 'roles in the workload').toBe(3);

    // Prometheus counted the same requests per replica and encoding as the balancer forwarded.
    const byReplica = await prometheus!.query(
      `sum by (instance, encoding) (footfall_collector_requests_total{job="${JOB}",code="200"})`
    );
    const seen = Object.fromEntries(byReplica.map((r) => [`${r.metric.instance} ${r.metric.encoding}`, r.value]));
    const forwarded: Record<string, number> = {};
    for (const r of routed) {
      const key = `${instances[r.replica]} ${protocolOf(Number(r.client.slice('tab-'.length)))}`;
      forwarded[key] = (forwarded[key] ?? 0) + 1;
    }
    expect(Object.keys(forwarded), 'both encodings on both replicas').toHaveLength(2 * REPLICAS);
    expect(seen).toEqual(forwarded);
  });

  describe.each(FAMILIES.map((f) => [f.name, f] as const))('%s', (_name, family) => {
    it('sums over the replicas to exactly what was sent, series by series', async () => {
      const sent = ledger.expected(family);
      expect(sent.size, 'the workload feeds this family').toBeGreaterThan(0);
      const { expr, series } = await stored(family);
      const diff = differences(sent, series);
      expect(diff, `${expr} differs from what was sent:\n${diff.join('\n')}`).toEqual([]);
    });

    it('holds on each replica exactly the share that replica received, and both have a share', async () => {
      const total = ledger.total(family);
      for (let replica = 0; replica < REPLICAS; replica++) {
        const share = ledger.total(family, replica);
        expect(share, `replica ${replica} received part of ${family.name} (${share} of ${total})`).toBeGreaterThan(0);
        expect(share, `replica ${replica} received only part of ${family.name}`).toBeLessThan(total);
        const { expr, series } = await stored(family, replica);
        const diff = differences(ledger.expected(family, replica), series);
        expect(diff, `${expr} differs from what replica ${replica} received:\n${diff.join('\n')}`).toEqual([]);
      }
    });
  });

  it('refuses no point on either replica (own /metrics)', async () => {
    for (const [i, replica] of replicas.entries()) {
      const { samples } = await scrape(replica.url);
      expect(sumOf(samples, 'footfall_collector_points_refused_total'), `replica ${i} ${replica.url}`).toBe(0);
      expect(
        sumOf(samples, 'footfall_collector_points_accepted_total'),
        `replica ${i} accepted points`
      ).toBeGreaterThan(0);
    }
  });
});
