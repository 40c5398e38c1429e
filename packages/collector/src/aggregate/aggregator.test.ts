import { AggregationTemporality, DataPointType, MetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import type { Metric, SumMetric } from '../decode/index.ts';
import { createSeriesCap, type Labels } from '../limits/index.ts';
import { createAggregator } from './aggregator.ts';
import { METRIC_CATALOG } from './catalog.ts';
import { createHistogramStore } from './histogram-store.ts';
import { createCollectorMeterProvider } from './meter-provider.ts';

class CumulativeReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override onForceFlush = () => Promise.resolve();
  protected override onShutdown = () => Promise.resolve();
}

function setup(maxSeriesPerMetric = 100) {
  const reader = new CumulativeReader();
  const histograms = createHistogramStore(METRIC_CATALOG);
  const meterProvider = createCollectorMeterProvider({ catalog: METRIC_CATALOG, readers: [reader], maxSeriesPerMetric, serviceVersion: 't' });
  const aggregator = createAggregator({ catalog: METRIC_CATALOG, meterProvider, histograms });
  const cap = createSeriesCap(maxSeriesPerMetric);
  async function values(name: string): Promise<Array<[Labels, number]>> {
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
    if (!metric || metric.dataPointType !== DataPointType.SUM) return [];
    return metric.dataPoints.map((p) => [p.attributes as Labels, p.value]);
  }
  function record(metric: Metric, value: number, labels: Labels) {
    const route = aggregator.route(metric);
    if (!('record' in route)) return route;
    const point = { attributes: [], value };
    const refused = route.check(point);
    if (refused) return refused;
    route.record(point, cap.admit(metric.name, labels));
    return undefined;
  }
  return { aggregator, values, record };
}

function sum(name: string, overrides: Partial<SumMetric> = {}): SumMetric {
  return { type: 'sum', name, unit: '', temporality: 'delta', monotonic: true, points: [], ...overrides };
}

describe('aggregator', () => {
  it('adds delta increments from many senders into one cumulative counter', async () => {
    const { values, record } = setup();
    const sessions = sum('grafana.dashboard.sessions');
    record(sessions, 1, { dashboard_uid: 'd1', user_role: 'Viewer' });
    record(sessions, 2, { dashboard_uid: 'd1', user_role: 'Viewer' });
    record(sessions, 4, { dashboard_uid: 'd2', user_role: 'Admin' });
    expect(await values('grafana_analytics_sessions_total')).toEqual([
      [{ dashboard_uid: 'd1', user_role: 'Viewer' }, 3],
      [{ dashboard_uid: 'd2', user_role: 'Admin' }, 4],
    ]);
  });

  it('derives the legacy duration from focused and visible engaged time, without the state label', async () => {
    const { values, record } = setup();
    const engaged = sum('grafana.dashboard.engaged_time');
    record(engaged, 30, { dashboard_uid: 'd1', engagement_state: 'focused' });
    record(engaged, 20, { dashboard_uid: 'd1', engagement_state: 'visible' });
    record(engaged, 500, { dashboard_uid: 'd1', engagement_state: 'hidden' });
    expect(await values('grafana_analytics_sessions_duration_seconds_total')).toEqual([[{ dashboard_uid: 'd1' }, 50]]);
    expect(await values('footfall_dashboard_engaged_seconds_total')).toHaveLength(3);
  });

  it.each([
    ['an unknown name', sum('grafana.dashboard.mystery'), 'unknown_metric'],
    ['cumulative temporality', sum('grafana.dashboard.sessions', { temporality: 'cumulative' }), 'not_delta'],
    ['unspecified temporality', sum('grafana.dashboard.sessions', { temporality: 'unspecified' }), 'not_delta'],
    ['a non-monotonic sum for a counter', sum('grafana.dashboard.sessions', { monotonic: false }), 'type_mismatch'],
    ['a gauge for a counter', { type: 'gauge', name: 'grafana.dashboard.sessions', unit: '', points: [] } as Metric, 'type_mismatch'],
    ['a sum for a histogram', sum('grafana.dashboard.query.duration'), 'type_mismatch'],
  ])('refuses %s', (_, metric, reason) => {
    const { aggregator } = setup();
    const route = aggregator.route(metric);
    expect('reason' in route && route.reason).toBe(reason);
  });

  it('refuses negative and non-finite counter increments and records nothing for them', async () => {
    const { values, record } = setup();
    const sessions = sum('grafana.dashboard.sessions');
    expect(record(sessions, -1, { dashboard_uid: 'd1' })).toMatchObject({ reason: 'invalid_value' });
    expect(record(sessions, NaN, { dashboard_uid: 'd1' })).toMatchObject({ reason: 'invalid_value' });
    expect(record(sessions, Infinity, { dashboard_uid: 'd1' })).toMatchObject({ reason: 'invalid_value' });
    expect(await values('grafana_analytics_sessions_total')).toEqual([]);
  });

  it('gives the SDK a cardinality limit above the lifetime cap, so only the cap folds series', async () => {
    const { values, record } = setup(2500);
    const sessions = sum('grafana.dashboard.sessions');
    for (let i = 0; i < 2400; i++) record(sessions, 1, { dashboard_uid: `d${i}` });
    const series = await values('grafana_analytics_sessions_total');
    expect(series).toHaveLength(2400);
    expect(series.some(([labels]) => 'otel.metric.overflow' in labels)).toBe(false);
  });
});


describe('aggregator with a gauge in the catalog', () => {
  it('records the last value of a gauge per series and refuses a counter or non-finite value for it', async () => {
    const catalog = [
      { name: 'test.level', kind: 'gauge', unit: '1', description: 'test', attributes: ['dashboard.uid'], prometheus: 'test_level' },
    ] as const;
    const reader = new CumulativeReader();
    const meterProvider = createCollectorMeterProvider({ catalog, readers: [reader], maxSeriesPerMetric: 10, serviceVersion: 't' });
    const aggregator = createAggregator({ catalog, meterProvider, histograms: createHistogramStore(catalog) });
    const route = aggregator.route({ type: 'gauge', name: 'test.level', unit: '1', points: [] });
    if (!('record' in route)) throw new Error(route.message);
    const cap = createSeriesCap(10);
    for (const value of [3, -7.5]) route.record({ attributes: [], value }, cap.admit('test.level', { dashboard_uid: 'd1' }));
    expect(route.check({ attributes: [], value: NaN })?.reason).toBe('invalid_value');
    expect('reason' in aggregator.route(sum('test.level')) && aggregator.route(sum('test.level'))).toMatchObject({ reason: 'type_mismatch' });
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'test_level')!;
    expect(metric.dataPointType).toBe(DataPointType.GAUGE);
    expect(metric.dataPoints.map((p) => [p.attributes, p.value])).toEqual([[{ dashboard_uid: 'd1' }, -7.5]]);
  });
});
