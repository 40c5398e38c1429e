import type { Attributes } from '@opentelemetry/api';
import { DataPointType, type CollectionResult } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { createCounterStore, SDK_BATCH } from './counter-store.ts';

const FAMILY = 'grafana_analytics_sessions_total';
const HEARTBEATS = 'footfall_dashboard_heartbeats_total';

function store(cardinalityLimit = SDK_BATCH + 2) {
  return createCounterStore({
    families: [
      { name: FAMILY, description: 'sessions', unit: '{session}' },
      { name: HEARTBEATS, description: 'heartbeats', unit: '{heartbeat}' },
    ],
    cardinalityLimit,
  });
}

function pointsOf({ resourceMetrics }: CollectionResult, family = FAMILY) {
  const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === family);
  if (!metric || metric.dataPointType !== DataPointType.SUM) {
    return [];
  }
  return [...metric.dataPoints].sort((x, y) =>
    String(x.attributes.dashboard_uid).localeCompare(String(y.attributes.dashboard_uid))
  );
}

const startMs = ([s, ns]: readonly [number, number]): number => s * 1000 + ns / 1e6;

describe('counter store', () => {
  it('a collection sees every increment made before it, each series with the start time of its first increment', async () => {
    const counters = store();
    const before = Date.now();
    counters.add(FAMILY, 1, { dashboard_uid: 'a' }, 'a');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = Date.now();
    counters.add(FAMILY, 2, { dashboard_uid: 'a' }, 'a');
    counters.add(FAMILY, 4, { dashboard_uid: 'b' }, 'b');
    counters.add(FAMILY, 8, { dashboard_uid: 'a' }, 'a');
    const first = pointsOf(await counters.collect());
    expect(first.map((p) => [p.attributes, p.value])).toEqual([
      [{ dashboard_uid: 'a' }, 11],
      [{ dashboard_uid: 'b' }, 4],
    ]);
    expect(startMs(first[0]!.startTime)).toBeGreaterThanOrEqual(before - 1);
    expect(startMs(first[0]!.startTime)).toBeLessThan(second);
    expect(startMs(first[1]!.startTime)).toBeGreaterThanOrEqual(second - 1);

    counters.add(FAMILY, 16, { dashboard_uid: 'b' }, 'b');
    const next = pointsOf(await counters.collect());
    expect(next.map((p) => p.value)).toEqual([11, 20]);
    // Cumulative: the start stays; a series that did not change is the same point, one that did a new one.
    expect(next[0]).toBe(first[0]);
    expect(next[1]!.startTime).toEqual(first[1]!.startTime);
    expect(startMs(next[1]!.endTime)).toBeGreaterThanOrEqual(startMs(first[1]!.endTime));
    await counters.shutdown();
  });

  it('keeps families apart, even for series with the same attributes object', async () => {
    const counters = store();
    const shared: Attributes = { 'otel.metric.overflow': true };
    counters.add(FAMILY, 1, shared, 'overflow');
    counters.add(HEARTBEATS, 5, shared, 'overflow');
    const result = await counters.collect();
    expect(pointsOf(result).map((p) => p.value)).toEqual([1]);
    expect(pointsOf(result, HEARTBEATS).map((p) => p.value)).toEqual([5]);
    await counters.shutdown();
  });

  it('a collection is a snapshot: later increments never change the points it handed out', async () => {
    const counters = store();
    counters.add(FAMILY, 1, { dashboard_uid: 'a' }, 'a');
    const first = await counters.collect();
    counters.add(FAMILY, 1, { dashboard_uid: 'a' }, 'a');
    await counters.collect();
    expect(pointsOf(first).map((p) => p.value)).toEqual([1]);
    await counters.shutdown();
  });

  it('a series shows only once the SDK has aggregated its increments', async () => {
    const counters = store();
    counters.add(FAMILY, 1, { dashboard_uid: 'a' }, 'a');
    const collecting = counters.collect();
    // Arrives while the collection runs: the next one shows it, this one may not show it at 0.
    counters.add(FAMILY, 3, { dashboard_uid: 'late' }, 'late');
    const during = pointsOf(await collecting);
    expect(during.every((p) => p.value > 0)).toBe(true);
    expect(pointsOf(await counters.collect()).map((p) => [p.attributes.dashboard_uid, p.value])).toEqual([
      ['a', 1],
      ['late', 3],
    ]);
    await counters.shutdown();
  });

  it('forgets the series retain() does not keep, and counts those it keeps on, also increments arriving meanwhile', async () => {
    const counters = store();
    for (let i = 0; i < 25_000; i++) {
      counters.add(FAMILY, 1, { dashboard_uid: `d${i}` }, `d${i}`);
    }
    await counters.collect();
    counters.add(FAMILY, 2, { dashboard_uid: 'd1' }, 'd1');
    const kept = new Set(['d1', 'd2', 'new']);
    const retaining = counters.retain((_family, attributes) => kept.has(String(attributes.dashboard_uid)));
    counters.add(FAMILY, 4, { dashboard_uid: 'd1' }, 'd1');
    counters.add(FAMILY, 8, { dashboard_uid: 'new' }, 'new');
    expect(await retaining).toBe(24_998);
    expect(pointsOf(await counters.collect()).map((p) => [p.attributes.dashboard_uid, p.value])).toEqual([
      ['d1', 7],
      ['d2', 1],
      ['new', 8],
    ]);
    // A forgotten series that comes back starts again from its new increments.
    counters.add(FAMILY, 1, { dashboard_uid: 'd3' }, 'd3');
    expect(pointsOf(await counters.collect()).find((p) => p.attributes.dashboard_uid === 'd3')?.value).toBe(1);
    await counters.shutdown();
  });

  it('hands the SDK a bounded batch per turn, so other work gets in, and every series once with its total', async () => {
    const counters = store(SDK_BATCH + 2);
    const n = 5 * SDK_BATCH;
    for (let i = 0; i < n; i++) {
      counters.add(FAMILY, i, { dashboard_uid: `d${i}` }, `d${i}`);
    }
    counters.add(FAMILY, 5, { dashboard_uid: 'd1' }, 'd1');
    let turns = 0;
    let done = false;
    const count = (): void => {
      turns++;
      if (!done) {
        setImmediate(count);
      }
    };
    setImmediate(count);
    const result = await counters.collect();
    done = true;
    // More series than the SDK's cardinality limit, never folded into its overflow series.
    expect(turns).toBeGreaterThanOrEqual(5);
    const totals = new Map(pointsOf(result).map((p) => [p.attributes.dashboard_uid, p.value]));
    expect(totals.size).toBe(n);
    expect(totals.get('d1')).toBe(6);
    expect(totals.get(`d${n - 1}`)).toBe(n - 1);
    await counters.shutdown();
  });

  it('two collections that meet both see what came before them, and count nothing twice', async () => {
    const counters = store();
    for (let i = 0; i < 3 * SDK_BATCH; i++) {
      counters.add(FAMILY, 1, { dashboard_uid: `d${i % 10}` }, `d${i % 10}`);
    }
    for (let i = 0; i < 2 * SDK_BATCH; i++) {
      counters.add(FAMILY, 1, { dashboard_uid: `e${i}` }, `e${i}`);
    }
    const first = counters.collect();
    counters.add(FAMILY, 1, { dashboard_uid: 'd0' }, 'd0');
    const second = counters.collect();
    const [a, b] = await Promise.all([first, second]);
    const sum = (r: CollectionResult) => pointsOf(r).reduce((n, p) => n + p.value, 0);
    // The first may or may not see the increment made after it was asked for; the second must.
    expect([5 * SDK_BATCH, 5 * SDK_BATCH + 1]).toContain(sum(a));
    expect(sum(b)).toBe(5 * SDK_BATCH + 1);
    await counters.shutdown();
  });
});
