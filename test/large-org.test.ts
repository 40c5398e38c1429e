/**
 * A large org, default configuration: 5,000 dashboards, every one opened, a long tail of popular ones,
 * 400 users spread over the org roles, two themes, five time zones and four locales, each a browser
 * tab running the OTel JS SDK (DELTA, protobuf) as the panel does, sending to the collector. The series
 * budget of docs/metrics.md must hold: no dashboard folded into an overflow series, and at most 50
 * series per dashboard on average, every _bucket, _sum and _count counted. The workload is seeded, so
 * the figures (printed, and written in BENCHMARKS.md) are the same on every run.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowser, type SimulatedBrowser } from './support/browsers.ts';
import { startCollector, type RunningCollector } from './support/collector.ts';
import { scrape, sumOf, type Sample } from './support/exposition.ts';

const DASHBOARDS = 5000;
const USERS = 400;
const SESSIONS = 20_000;
/** A browser sends what it has every few sessions, as the panel does every export interval. */
const SESSIONS_PER_EXPORT = 10;
const BUDGET_PER_DASHBOARD = 50;

/** mulberry32: a small seeded generator, so every run sends the same org. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rnd = random(20261206);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
function weighted<T>(items: ReadonlyArray<readonly [T, number]>): T {
  let r = rnd() * items.reduce((t, [, w]) => t + w, 0);
  for (const [item, w] of items) {
    if ((r -= w) < 0) {
      return item;
    }
  }
  return items[items.length - 1]![0];
}
const between = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));

interface Dashboard {
  readonly uid: string;
  readonly name: string;
  readonly folder: string;
  readonly variables: ReadonlyArray<{ readonly name: string; readonly values: readonly string[] }>;
  readonly datasources: readonly string[];
}

const FOLDERS = ['', ...Array.from({ length: 40 }, (_, i) => `Team ${i}`)];
const DATASOURCES = ['prometheus', 'loki', 'mysql', 'elasticsearch', 'tempo'];
const VARIABLE_NAMES = ['cluster', 'namespace', 'instance', 'job', 'region'];

const dashboards: Dashboard[] = Array.from({ length: DASHBOARDS }, (_, i) => ({
  uid: `dash-${i.toString(36).padStart(4, '0')}`,
  name: `Dashboard ${i}`,
  folder: pick(FOLDERS),
  variables: Array.from(
    {
      length: weighted([
        [0, 30],
        [1, 30],
        [2, 25],
        [3, 15],
      ]),
    },
    (_, v) => ({
      name: VARIABLE_NAMES[v]!,
      values: Array.from({ length: between(2, 6) }, (_, k) => `${VARIABLE_NAMES[v]}-${k}`),
    })
  ),
  datasources: rnd() < 0.7 ? [pick(DATASOURCES)] : [DATASOURCES[0]!, pick(DATASOURCES.slice(1))],
}));

/** Popularity: dashboard i is opened with weight 1/(i+1)^1.1 (Zipf), so a few are busy and most are not. */
const zipf = dashboards.map((_, i) => 1 / (i + 1) ** 1.1);
const zipfTotal = zipf.reduce((a, b) => a + b, 0);
function popular(): Dashboard {
  let r = rnd() * zipfTotal;
  for (let i = 0; i < zipf.length; i++) {
    if ((r -= zipf[i]!) < 0) {
      return dashboards[i]!;
    }
  }
  return dashboards[0]!;
}

const TIME_RANGES: ReadonlyArray<readonly [string, number]> = [
  ['now-6h', 40],
  ['now-24h', 20],
  ['now-1h', 15],
  ['now-7d', 10],
  ['now-30d', 5],
  ['absolute', 10],
];

interface User {
  readonly browser: SimulatedBrowser;
  pending: number;
}

describe(`a large org: ${DASHBOARDS} dashboards, ${USERS} users, ${SESSIONS} sessions, default configuration`, () => {
  let collector: RunningCollector;
  let samples: Sample[];
  const users: User[] = [];

  beforeAll(async () => {
    collector = await startCollector();
    for (let u = 0; u < USERS; u++) {
      const browser = createBrowser({
        url: collector.url,
        protocol: 'protobuf',
        resource: {
          'grafana.host': 'grafana.example.com',
          'grafana.env': 'prod',
          'user.role': weighted([
            ['Viewer', 70],
            ['Editor', 20],
            ['Admin', 10],
          ]),
          'user.theme': weighted([
            ['dark', 70],
            ['light', 30],
          ]),
          'user.timezone': pick(['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'UTC', 'America/Sao_Paulo']),
          'user.locale': pick(['en-US', 'de-DE', 'ja-JP', 'pt-BR']),
        },
      });
      users.push({ browser, pending: 0 });
    }
    const flushes: Array<Promise<number>> = [];
    for (let s = 0; s < SESSIONS; s++) {
      // Every dashboard is opened at least once; after that, popularity decides.
      const dashboard = s < DASHBOARDS ? dashboards[s]! : popular();
      const user = pick(users);
      session(user.browser, dashboard);
      if (++user.pending === SESSIONS_PER_EXPORT) {
        user.pending = 0;
        flushes.push(user.browser.flush());
        if (flushes.length >= 8) {
          await Promise.all(flushes.splice(0));
        }
      }
    }
    await Promise.all(flushes);
    await Promise.all(users.map((u) => u.browser.flush()));
    samples = (await scrape(collector.url)).samples;
  }, 240_000);

  afterAll(async () => {
    await Promise.all(users.map((u) => u.browser.shutdown()));
    await collector?.close();
  });

  it('took every point: none refused, none folded into an overflow series', () => {
    expect(samples.filter((s) => s.name === 'footfall_collector_points_refused_total')).toEqual([]);
    expect(sumOf(samples, 'footfall_collector_points_accepted_total')).toBeGreaterThan(SESSIONS * 5);
    expect(sumOf(samples, 'footfall_collector_series_overflow_total')).toBe(0);
    expect(samples.filter((s) => s.labels.otel_metric_overflow !== undefined)).toEqual([]);
  });

  it('gives every dashboard its own series, with its folder', () => {
    const sessions = samples.filter((s) => s.name === 'grafana_analytics_sessions_total');
    expect(new Set(sessions.map((s) => s.labels.dashboard_uid)).size).toBe(DASHBOARDS);
    expect(sumOf(samples, 'grafana_analytics_sessions_total')).toBe(SESSIONS);
    expect(sessions.some((s) => s.labels.dashboard_folder === 'Team 7')).toBe(true);
  });

  it(`exposes at most ${BUDGET_PER_DASHBOARD} series per dashboard on average, with the arithmetic per family`, () => {
    const perFamily = new Map<string, number>();
    for (const s of samples) {
      if (s.name.startsWith('footfall_collector_') || s.name === 'target_info') {
        continue;
      }
      const family = s.name.replace(/_(bucket|sum|count)$/, '');
      perFamily.set(family, (perFamily.get(family) ?? 0) + 1);
    }
    const catalogSeries = [...perFamily.values()].reduce((a, b) => a + b, 0);
    const selfSeries = samples.length - catalogSeries;
    const rows = [...perFamily].sort((a, b) => b[1] - a[1]);
    const table = [
      '| family | series | per dashboard |',
      '|---|---:|---:|',
      ...rows.map(([family, n]) => `| \`${family}\` | ${n.toLocaleString('en-US')} | ${(n / DASHBOARDS).toFixed(2)} |`),
      `| **all catalog series** | **${catalogSeries.toLocaleString('en-US')}** | **${(catalogSeries / DASHBOARDS).toFixed(2)}** |`,
      `| the collector's own (\`footfall_collector_*\`, \`target_info\`) | ${selfSeries} | ${(selfSeries / DASHBOARDS).toFixed(2)} |`,
    ].join('\n');
    process.stdout.write(`\nlarge org, default configuration:\n${table}\n`);
    mkdirSync('test-results', { recursive: true });
    writeFileSync('test-results/large-org.md', `${table}\n`);
    expect(samples.length / DASHBOARDS).toBeLessThanOrEqual(BUDGET_PER_DASHBOARD);
    // Not vacuous: the theme, time zone and locale did arrive, once per instance.
    expect(perFamily.get('footfall_sessions_by_preferences_total')).toBeGreaterThan(50);
    expect(perFamily.get('footfall_sessions_by_preferences_total')).toBeLessThanOrEqual(3 * 2 * 5 * 4);
  });
});

/** One dashboard session in a tab: what the panel records for it. */
function session(b: SimulatedBrowser, d: Dashboard): void {
  const at = {
    'dashboard.uid': d.uid,
    'dashboard.name': d.name,
    ...(d.folder ? { 'dashboard.folder': d.folder } : {}),
  };
  b.sessions.add(1, at);
  const focused = between(10, 300);
  const visible = rnd() < 0.6 ? between(5, 100) : 0;
  const hidden = rnd() < 0.3 ? between(5, 200) : 0;
  b.engagedTime.add(focused, { ...at, 'engagement.state': 'focused' });
  if (visible) {
    b.engagedTime.add(visible, { ...at, 'engagement.state': 'visible' });
  }
  if (hidden) {
    b.engagedTime.add(hidden, { ...at, 'engagement.state': 'hidden' });
  }
  // One heartbeat: the test plays an org's day in seconds, so a point's window is milliseconds long and
  // its bound (docs/metrics.md) that of a window of none; a real tab's minutes allow one a second.
  b.heartbeats.add(1, at);
  b.sessionDuration.record(focused + visible + hidden, at);
  for (const v of d.variables) {
    b.variableSelections.add(1, { ...at, 'variable.name': v.name, 'variable.value': pick(v.values) });
    if (rnd() < 0.3) {
      b.variableSelections.add(1, { ...at, 'variable.name': v.name, 'variable.value': pick(v.values) });
    }
  }
  b.timeRangeSelections.add(1, { ...at, time_range: weighted(TIME_RANGES) });
  if (rnd() < 0.3) {
    b.timeRangeSelections.add(1, { ...at, time_range: weighted(TIME_RANGES) });
  }
  for (const ds of d.datasources) {
    const n = between(3, 12);
    b.queries.add(n, { ...at, 'datasource.type': ds });
    for (let q = 0; q < n; q++) {
      b.queryDuration.record(0.02 + rnd() * rnd() * 8, at);
    }
    if (rnd() < 0.05) {
      b.queryErrors.add(1, { ...at, 'datasource.type': ds });
    }
  }
}
