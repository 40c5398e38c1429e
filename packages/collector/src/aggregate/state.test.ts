import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { HistogramPoint, Metric, NumberPoint } from '../decode/index.ts';
import type { Labels } from '../limits/index.ts';
import { createTestAggregation, type TestAggregationOptions } from '../testing/aggregate-stage.ts';
import { METRIC_CATALOG } from './catalog.ts';
import { createStateFile } from './state-file.ts';
import { parseState, serializeState, serializeStateChunks, snapshotState, type CollectorState } from './state.ts';

const BROWSER = { subject: undefined, incrementFactor: 1 };

/** One collector's aggregate stage, as collector.ts wires it. */
function stage(options: TestAggregationOptions = {}) {
  const s = createTestAggregation({ maxSeries: 100, ...options });
  return {
    ...s,
    record(metric: Metric, point: NumberPoint | HistogramPoint, labels: Labels) {
      const route = s.aggregator.route(metric);
      if (!('record' in route)) {
        throw new Error(route.message);
      }
      const refused = route.check(point, BROWSER);
      if (refused) {
        throw new Error(refused.message);
      }
      route.record(point, labels, BROWSER);
    },
    snapshot: async () => snapshotState((await s.data.collect()).resourceMetrics, s.registry.lastUpdated, { now: 0 }),
  };
}

const sessions: Metric = {
  name: 'grafana.dashboard.sessions',
  unit: '',
  type: 'sum',
  monotonic: true,
  temporality: 'delta',
  points: [],
};
const engaged: Metric = { ...sessions, name: 'grafana.dashboard.engaged_time' };
const duration: Metric = {
  name: 'grafana.dashboard.session.duration',
  unit: '',
  type: 'histogram',
  temporality: 'delta',
  points: [],
};
const BOUNDS = METRIC_CATALOG.find((m) => m.name === duration.name)!.buckets!;
const TIMES = { startTime: 0, time: 0, noRecordedValue: false };

const counter = (value: number): NumberPoint => ({ attributes: [], value, ...TIMES });
function histogramPoint(bucket: number, sum: number): HistogramPoint {
  const bucketCounts = new Array<number>(BOUNDS.length + 1).fill(0);
  bucketCounts[bucket] = 1;
  return { attributes: [], explicitBounds: [...BOUNDS], bucketCounts, sum, count: 1, ...TIMES };
}

/** A stage that has seen some traffic: counters (one with derived series) and a histogram. */
function busyStage(options: TestAggregationOptions = {}) {
  const a = stage(options);
  const alpha = { dashboard_uid: 'alpha', user_role: 'Viewer' };
  a.record(sessions, counter(3), alpha);
  a.record(sessions, counter(2), { dashboard_uid: 'beta', user_role: 'Editor' });
  a.record(engaged, counter(12.5), { ...alpha, engagement_state: 'focused' });
  a.record(duration, histogramPoint(2, 45), { dashboard_uid: 'alpha' });
  a.record(duration, histogramPoint(9, 20_000), { dashboard_uid: 'alpha' });
  return a;
}

function sorted(state: CollectorState): CollectorState {
  const key = (x: { name: string; labels: Labels }) => `${x.name}${JSON.stringify(Object.entries(x.labels).sort())}`;
  return {
    ...state,
    counters: [...state.counters].sort((x, y) => key(x).localeCompare(key(y))),
    histograms: [...state.histograms].sort((x, y) => key(x).localeCompare(key(y))),
  };
}

/** Through the file format and back, as a restart does. */
const roundTrip = (state: CollectorState): CollectorState => parseState(JSON.parse(serializeState(state))).state;

describe('state: snapshot and restore', () => {
  it('a restored stage holds exactly what the saved one did, derived series and histograms included, and keeps counting', async () => {
    const saved = await busyStage().snapshot();
    expect(saved.counters.map((c) => c.name).sort()).toEqual([
      'footfall_dashboard_engaged_seconds_total',
      'footfall_sessions_by_preferences_total',
      'footfall_sessions_by_preferences_total',
      'grafana_analytics_sessions_duration_seconds_total',
      'grafana_analytics_sessions_total',
      'grafana_analytics_sessions_total',
    ]);
    const b = stage();
    expect(b.aggregator.restore(roundTrip(saved))).toEqual({ restored: 7, skipped: 0 });
    expect(sorted(await b.snapshot())).toEqual(sorted(saved));

    b.record(sessions, counter(1), { dashboard_uid: 'alpha', user_role: 'Viewer' });
    b.record(duration, histogramPoint(2, 50), { dashboard_uid: 'alpha' });
    const after = await b.snapshot();
    expect(
      after.counters.find((c) => c.labels.dashboard_uid === 'alpha' && c.name === 'grafana_analytics_sessions_total')
        ?.value
    ).toBe(4);
    expect(after.histograms[0]).toMatchObject({ count: 3, sum: 20_095 });
  });

  it('restored series count towards the series cap: past it they fold into the overflow series', async () => {
    const saved = await busyStage().snapshot();
    const small = stage({ maxSeries: 1 });
    small.aggregator.restore(saved);
    const sessionsSeries = (await small.snapshot()).counters.filter(
      (c) => c.name === 'grafana_analytics_sessions_total'
    );
    expect(sessionsSeries).toHaveLength(2);
    expect(sessionsSeries.find((c) => c.labels['otel.metric.overflow'] === 'true')?.value).toBe(2);
  });

  it("keeps each series' last update across a restart, so idle series still expire on time", async () => {
    const a = busyStage();
    a.clock.advance(50_000);
    a.record(sessions, counter(1), { dashboard_uid: 'beta', user_role: 'Editor' });
    const saved = roundTrip(await a.snapshot());
    const b = stage({ idleExpiryMs: 40_000 });
    b.clock.advance(60_000);
    b.aggregator.restore(saved);
    await b.expire();
    const left = await b.snapshot();
    expect(
      left.counters.filter((c) => c.name === 'grafana_analytics_sessions_total').map((c) => c.labels.dashboard_uid)
    ).toEqual(['beta']);
    expect(left.histograms).toEqual([]);
  });

  it('skips what no longer fits the catalog: an unknown metric, changed histogram boundaries', async () => {
    const saved = await busyStage().snapshot();
    const changed: CollectorState = {
      ...saved,
      counters: [...saved.counters, { name: 'gone_total', labels: {}, value: 1 }],
      histograms: saved.histograms.map((h) => ({ ...h, boundaries: h.boundaries.map((b) => b * 2) })),
    };
    const b = stage();
    expect(b.aggregator.restore(changed)).toEqual({ restored: 6, skipped: 2 });
    expect((await b.snapshot()).histograms).toEqual([]);
  });

  it('leaves expired series out of the snapshot', async () => {
    const a = busyStage({ idleExpiryMs: 1000 });
    a.clock.advance(2000);
    a.record(sessions, counter(1), { dashboard_uid: 'gamma', user_role: 'Viewer' });
    a.registry.expire(a.clock.now());
    const names = (await a.snapshot()).counters.map((c) => `${c.name}:${c.labels.dashboard_uid ?? ''}`);
    expect(names.filter((n) => n.startsWith('grafana_analytics_sessions_total'))).toEqual([
      'grafana_analytics_sessions_total:gamma',
    ]);
  });
});

describe('state file: parsing', () => {
  const frame = { version: 2, savedAt: '2026-12-01T00:00:00.000Z' };

  it('skips an entry that cannot be used (a total JSON wrote as null, negative, past 2^53, mistyped) and keeps the rest', () => {
    const good = { name: 'grafana_analytics_sessions_total', labels: { dashboard_uid: 'd1' }, value: 5, updatedAt: 1 };
    const parsed = parseState({
      ...frame,
      counters: [
        good,
        { ...good, value: null },
        { ...good, value: -1 },
        { ...good, value: 2 ** 60 },
        { ...good, labels: { a: 1 } },
        'junk',
      ],
      histograms: [{ name: 'h', labels: {}, boundaries: [1], counts: [1, 1], sum: 1, count: 3 }],
    });
    expect(parsed.state.counters).toEqual([good]);
    expect(parsed.state.histograms).toEqual([]);
    expect(parsed.skipped).toBe(6);
    expect(parsed.problems.length).toBeGreaterThan(0);
  });

  it('reads version 1 files (no last-update times: the time they were saved stands in)', () => {
    const parsed = parseState({
      ...frame,
      version: 1,
      counters: [{ name: 'n', labels: {}, value: 1 }],
      histograms: [],
    });
    expect(parsed.state.savedAt).toBe(Date.parse(frame.savedAt));
    expect(parsed.state.counters).toEqual([{ name: 'n', labels: {}, value: 1 }]);
  });

  it.each([
    ['not an object', 'x'],
    ['another version', { ...frame, version: 4, counters: [], histograms: [] }],
    ['no date', { version: 2, savedAt: 'x', counters: [], histograms: [] }],
  ])('refuses a frame that is %s', (_, json) => {
    expect(() => parseState(json)).toThrow();
  });
});

describe('state file', () => {
  const logger = pino({ level: 'silent' });
  const dir = () => mkdtempSync(join(tmpdir(), 'footfall-state-'));

  it('saves atomically (no temporary left behind) and loads what it saved', async () => {
    const path = join(dir(), 'state.json');
    const file = createStateFile(path, logger);
    expect(await file.load()).toBeUndefined();
    const state = await busyStage().snapshot();
    await file.save(state);
    await file.save(state);
    expect(readdirSync(join(path, '..'))).toEqual(['state.json']);
    expect((await file.load())?.state).toEqual(roundTrip(state));
  });

  it('writes a large state in chunks that make the same JSON, and loads every series of it back', async () => {
    const counters = Array.from({ length: 5000 }, (_, i) => ({
      name: 'grafana_analytics_sessions_total',
      labels: { dashboard_uid: `d${i}`, dashboard_name: 'say "hi"\\\n' },
      value: i,
      updatedAt: 1,
    }));
    const state: CollectorState = {
      savedAt: 0,
      instanceId: 'pod-1',
      counters,
      histograms: [],
      dashboards: [{ uid: 'd1', lastOpened: 5 }],
      inventory: [],
    };
    const chunks = [...serializeStateChunks(state)];
    expect(chunks.length).toBeGreaterThan(5);
    expect(chunks.join('')).toBe(
      JSON.stringify({
        version: 3,
        savedAt: new Date(0).toISOString(),
        instanceId: 'pod-1',
        counters,
        histograms: [],
        dashboards: state.dashboards,
        inventory: [],
      })
    );
    const path = join(dir(), 'state.json');
    const file = createStateFile(path, logger);
    await file.save(state);
    expect((await file.load())?.state.counters).toEqual(counters);
  });

  it('never writes through a symbolic link planted where a temporary could be, and clears leftovers', async () => {
    const folder = dir();
    const victim = join(folder, 'victim');
    writeFileSync(victim, 'precious');
    // The name the old code always used, and one that looks like a leftover of ours.
    symlinkSync(victim, join(folder, '.state.json.tmp'));
    writeFileSync(join(folder, '.state.json.1-abc.tmp'), 'half a save');
    const file = createStateFile(join(folder, 'state.json'), logger);
    await file.load();
    await file.save(await busyStage().snapshot());
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(existsSync(join(folder, '.state.json.1-abc.tmp'))).toBe(false);
    expect(readdirSync(folder).filter((f) => f.endsWith('.tmp') && f !== '.state.json.tmp')).toEqual([]);
  });

  it.each([
    ['not JSON', '{"version":2,'],
    ['the wrong shape', '{"version":2,"savedAt":"x","counters":[],"histograms":[]}'],
    ['another version', '{"version":4,"savedAt":"2026-12-01T00:00:00.000Z","counters":[],"histograms":[]}'],
  ])('a file that is %s: starts clean, says so, keeps one copy aside however often it restarts', async (_, text) => {
    const folder = dir();
    const path = join(folder, 'state.json');
    const lines: string[] = [];
    const file = createStateFile(path, pino({ level: 'info' }, { write: (line: string) => lines.push(line) }));
    for (let restart = 0; restart < 3; restart++) {
      writeFileSync(path, text);
      expect(await file.load()).toBeUndefined();
    }
    expect(lines.join('')).toContain('the state file is corrupt: counters start from zero');
    expect(readdirSync(folder).filter((f) => f.startsWith('state.json.corrupt'))).toEqual(['state.json.corrupt']);
    expect(readFileSync(join(folder, 'state.json.corrupt'), 'utf8')).toBe(text);
  });

  it('a save into a missing directory fails with the reason, and loading never throws', async () => {
    const file = createStateFile(join(dir(), 'missing', 'state.json'), logger);
    await expect(file.save(await busyStage().snapshot())).rejects.toThrow(/ENOENT/);
    expect(await createStateFile(dir(), logger).load()).toBeUndefined(); // a directory, not a file
  });
});
