import { describe, expect, it } from 'vitest';
import { createCounterStore, SHARDS, shardOf } from './counter-store.ts';

const FAMILY = { name: 'grafana_analytics_sessions_total', description: 'Sessions.', unit: '{session}' };

describe('counter store', () => {
  it('collects in turns that let other work in, and hands back every series once with its total', async () => {
    const store = createCounterStore({ families: [FAMILY], cardinalityLimit: 10_000 });
    for (let i = 0; i < 2000; i++) store.add(FAMILY.name, i, { dashboard_uid: `d${i}` });
    store.add(FAMILY.name, 5, { dashboard_uid: 'd1' });
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
