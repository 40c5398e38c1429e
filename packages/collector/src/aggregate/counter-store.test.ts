import { DataPointType } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { createCounterStore, SHARDS, shardOf } from './counter-store.ts';

const FAMILY = 'grafana_analytics_sessions_total';

function store() {
  return createCounterStore({ families: [{ name: FAMILY, description: 'sessions', unit: '{session}' }], cardinalityLimit: 10 });
}

async function points(counters: ReturnType<typeof store>) {
  const { resourceMetrics } = await counters.collect();
  const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === FAMILY);
  if (!metric || metric.dataPointType !== DataPointType.SUM) return [];
  // By uid: the series are spread over the SDK shards, whose order is not the order they came in.
  return [...metric.dataPoints].sort((x, y) => String(x.attributes.dashboard_uid).localeCompare(String(y.attributes.dashboard_uid)));
}

describe('counter store', () => {
  it('a collection sees every increment made before it, each series with the start time of its first point', async () => {
    const counters = store();
    counters.add(FAMILY, 1, { dashboard_uid: 'a' }, 'a');
    const firstPointAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
    counters.add(FAMILY, 2, { dashboard_uid: 'a' }, 'a');
    counters.add(FAMILY, 4, { dashboard_uid: 'b' }, 'b');
    counters.add(FAMILY, 8, { dashboard_uid: 'a' }, 'a');
    const first = await points(counters);
    expect(first.map((p) => [p.attributes, p.value])).toEqual([
      [{ dashboard_uid: 'a' }, 11],
      [{ dashboard_uid: 'b' }, 4],
    ]);
    const startMs = first[0]!.startTime[0] * 1000 + first[0]!.startTime[1] / 1e6;
    expect(startMs).toBeLessThanOrEqual(firstPointAt + 1);

    counters.add(FAMILY, 16, { dashboard_uid: 'b' }, 'b');
    expect((await points(counters)).map((p) => p.value)).toEqual([11, 20]);
    await counters.shutdown();
  });

  it('increments pending when series are moved to a new generation are kept', async () => {
    const counters = store();
    counters.add(FAMILY, 1, { dashboard_uid: 'a' }, 'a');
    counters.add(FAMILY, 2, { dashboard_uid: 'a' }, 'a');
    expect(await counters.retain(() => true)).toBe(0);
    counters.add(FAMILY, 4, { dashboard_uid: 'a' }, 'a');
    counters.add(FAMILY, 8, { dashboard_uid: 'a' }, 'a');
    expect((await points(counters)).map((p) => p.value)).toEqual([15]);
    await counters.shutdown();
  });

  it('collects in turns that let other work in, and hands back every series once with its total', async () => {
    const store = createCounterStore({ families: [{ name: FAMILY, description: 'Sessions.', unit: '{session}' }], cardinalityLimit: 10_000 });
    for (let i = 0; i < 2000; i++) store.add(FAMILY, i, { dashboard_uid: `d${i}` }, `d${i}`);
    store.add(FAMILY, 5, { dashboard_uid: 'd1' }, 'd1');
    let turns = 0;
    const count = (): void => {
      turns++;
      if (!done) setImmediate(count);
    };
    let done = false;
    setImmediate(count);
    const { resourceMetrics } = await store.collect();
    done = true;
    // An intake request waits one shard's collection, not the whole store's.
    expect(turns).toBeGreaterThan(4);
    const [metric] = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const totals = new Map(metric!.dataPoints.map((p) => [p.attributes.dashboard_uid, p.value as number]));
    expect(totals.size).toBe(2000);
    expect(totals.get('d1')).toBe(6);
    expect(totals.get('d1999')).toBe(1999);
    await store.shutdown();
  });

  it('puts a series in one shard whatever the order of its attributes, and spreads series over the shards', () => {
    expect(shardOf({ a: 'x', b: 'y' })).toBe(shardOf({ b: 'y', a: 'x' }));
    const used = new Set(Array.from({ length: 1000 }, (_, i) => shardOf({ dashboard_uid: `d${i}`, user_role: 'Viewer' })));
    expect(used.size).toBe(SHARDS);
  });
});
