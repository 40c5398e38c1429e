import { describe, expect, it } from 'vitest';
import type { HistogramPoint } from '../decode/index.ts';
import { seriesKey, type AdmittedSeries } from '../limits/index.ts';
import type { CatalogMetric } from './catalog.ts';
import { computeBucketMap, createHistogramStore } from './histogram-store.ts';

const METRIC: CatalogMetric = {
  name: 'h',
  kind: 'histogram',
  unit: 's',
  description: 'test',
  attributes: ['dashboard.uid'],
  prometheus: 'h_seconds',
  buckets: [1, 10],
  increment: { perPoint: 10, perSecond: 1 },
  maxObservation: 100,
};

const series = (attributes: Record<string, string>): AdmittedSeries => ({
  attributes,
  key: seriesKey(attributes),
  overflow: false,
});

function point(explicitBounds: number[], bucketCounts: number[], sum: number): HistogramPoint {
  return {
    attributes: [],
    explicitBounds,
    bucketCounts,
    sum,
    count: bucketCounts.reduce((a, b) => a + b, 0),
    startTime: 0,
    time: 0,
    noRecordedValue: false,
  };
}

describe('computeBucketMap', () => {
  it('maps identical boundaries one to one', () => {
    expect(computeBucketMap([1, 10], [1, 10])).toEqual([0, 1, 2]);
  });
  it('maps finer boundaries that include every target boundary', () => {
    // incoming buckets: ≤0.5, ≤1, ≤5, ≤10, ≤50, >50
    expect(computeBucketMap([1, 10], [0.5, 1, 5, 10, 50])).toEqual([0, 0, 1, 1, 2, 2]);
  });
  it('refuses boundaries that would split a target bucket', () => {
    expect(computeBucketMap([1, 10], [2, 10])).toBeUndefined();
    expect(computeBucketMap([1, 10], [])).toBeUndefined();
    expect(computeBucketMap([1, 10], [10, 1])).toBeUndefined();
  });
});

describe('histogram store', () => {
  it('merges delta points into exact cumulative buckets per series', async () => {
    const store = createHistogramStore([METRIC]);
    const a = series({ dashboard_uid: 'a' });
    const points = [
      point([1, 10], [1, 2, 0], 12),
      point([0.5, 1, 5, 10, 50], [1, 1, 0, 3, 1, 1], 140),
      point([1, 10], [0, 0, 1], 30),
    ];
    for (const p of points) {
      expect(store.check(METRIC, p)).toBeUndefined();
    }
    store.merge(METRIC, a, points[0]!);
    store.merge(METRIC, a, points[1]!);
    store.merge(METRIC, series({ dashboard_uid: 'b' }), points[2]!);

    const { resourceMetrics } = await store.collect();
    const [metric] = resourceMetrics.scopeMetrics[0]!.metrics;
    expect(metric!.descriptor.name).toBe('h_seconds');
    const byDashboard = Object.fromEntries(metric!.dataPoints.map((p) => [p.attributes.dashboard_uid, p.value]));
    expect(byDashboard.a).toEqual({ buckets: { boundaries: [1, 10], counts: [3, 5, 2] }, sum: 152, count: 10 });
    expect(byDashboard.b).toEqual({ buckets: { boundaries: [1, 10], counts: [0, 0, 1] }, sum: 30, count: 1 });
  });

  it.each([
    ['boundaries that do not include the catalog ones', point([5], [1, 1], 3), 'bucket_mismatch'],
    ['a count that disagrees with the buckets', { ...point([1, 10], [1, 0, 0], 1), count: 5 }, 'invalid_value'],
    ['a missing sum', { ...point([1, 10], [1, 0, 0], 1), sum: undefined }, 'invalid_value'],
    ['negative bucket counts', point([1, 10], [-1, 2, 0], 1), 'invalid_value'],
    ['too few bucket counts', point([1, 10], [1, 1], 1), 'invalid_value'],
  ])('refuses %s', (_, bad, reason) => {
    const store = createHistogramStore([METRIC]);
    expect(store.check(METRIC, bad as HistogramPoint)?.reason).toBe(reason);
  });
});
