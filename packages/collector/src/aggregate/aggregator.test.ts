import { describe, expect, it } from 'vitest';
import type { HistogramPoint, Metric, NumberPoint, SumMetric } from '../decode/index.ts';
import type { Labels } from '../limits/index.ts';
import { createTestAggregation, type TestAggregationOptions } from '../testing/aggregate-stage.ts';
import type { PointSender } from './aggregator.ts';

const BROWSER: PointSender = { subject: undefined, incrementFactor: 1 };

function setup(options: TestAggregationOptions = {}) {
  const stage = createTestAggregation(options);
  function record(
    metric: Metric,
    value: number | undefined,
    labels: Labels,
    sender: PointSender = BROWSER,
    window = 60
  ) {
    const route = stage.aggregator.route(metric);
    if (!('record' in route)) {
      return route;
    }
    const point: NumberPoint = { attributes: [], value, startTime: 1000, time: 1000 + window, noRecordedValue: false };
    const refused = route.check(point, sender);
    if (refused) {
      return refused;
    }
    return route.record(point, labels, sender);
  }
  return { ...stage, record };
}

function sum(name: string, overrides: Partial<SumMetric> = {}): SumMetric {
  return { type: 'sum', name, unit: '', temporality: 'delta', monotonic: true, points: [], ...overrides };
}

function histogramPoint(count: number, sum: number, window = 60): HistogramPoint {
  return {
    attributes: [],
    startTime: 1000,
    time: 1000 + window,
    noRecordedValue: false,
    count,
    sum,
    bucketCounts: [count],
    explicitBounds: [],
  };
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

  it('keeps the lean labels on a metric and counts preferences once per instance, without dashboard labels', async () => {
    const { values, record } = setup();
    const sessions = sum('grafana.dashboard.sessions');
    const prefs = {
      grafana_host: 'g',
      user_role: 'Viewer',
      user_theme: 'dark',
      user_timezone: 'Europe/Paris',
      user_locale: 'fr-FR',
    };
    record(sessions, 1, { dashboard_uid: 'd1', dashboard_folder: 'Ops', ...prefs });
    record(sessions, 1, { dashboard_uid: 'd2', ...prefs });
    expect(await values('grafana_analytics_sessions_total')).toEqual([
      [{ dashboard_uid: 'd1', dashboard_folder: 'Ops', grafana_host: 'g', user_role: 'Viewer' }, 1],
      [{ dashboard_uid: 'd2', grafana_host: 'g', user_role: 'Viewer' }, 1],
    ]);
    expect(await values('footfall_sessions_by_preferences_total')).toEqual([[prefs, 2]]);
  });

  it('derives the legacy duration from focused and visible engaged time, with the configured legacy labels', async () => {
    const { values, record } = setup({ legacyLabels: ['dashboard.uid', 'user.theme'] });
    const engaged = sum('grafana.dashboard.engaged_time');
    const labels = { dashboard_uid: 'd1', user_theme: 'dark', user_role: 'Viewer' };
    record(engaged, 30, { ...labels, engagement_state: 'focused' });
    record(engaged, 20, { ...labels, engagement_state: 'visible' });
    record(engaged, 500, { ...labels, engagement_state: 'hidden' });
    expect(await values('grafana_analytics_sessions_duration_seconds_total')).toEqual([
      [{ dashboard_uid: 'd1', user_theme: 'dark' }, 50],
    ]);
    // The theme is not one of the engaged-time metric's own labels.
    expect((await values('footfall_dashboard_engaged_seconds_total')).map(([l]) => l.user_theme)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it.each([
    ['an unknown name', sum('grafana.dashboard.mystery'), 'unknown_metric'],
    ['cumulative temporality', sum('grafana.dashboard.sessions', { temporality: 'cumulative' }), 'not_delta'],
    ['unspecified temporality', sum('grafana.dashboard.sessions', { temporality: 'unspecified' }), 'not_delta'],
    ['a non-monotonic sum for a counter', sum('grafana.dashboard.sessions', { monotonic: false }), 'type_mismatch'],
    [
      'a gauge for a counter',
      { type: 'gauge', name: 'grafana.dashboard.sessions', unit: '', points: [] } as Metric,
      'type_mismatch',
    ],
    ['a sum for a histogram', sum('grafana.dashboard.query.duration'), 'type_mismatch'],
    ["a unit other than the catalog's", sum('grafana.dashboard.engaged_time', { unit: 'ms' }), 'unit_mismatch'],
    [
      "a unit other than the catalog's, under the Prometheus name",
      sum('footfall_dashboard_engaged_seconds_total', { unit: 'min' }),
      'unit_mismatch',
    ],
  ])('refuses %s', (_, metric, reason) => {
    const { aggregator } = setup();
    const route = aggregator.route(metric);
    expect('reason' in route && route.reason).toBe(reason);
  });

  it('accepts the catalog unit, or none stated', () => {
    const { aggregator } = setup();
    expect('record' in aggregator.route(sum('grafana.dashboard.engaged_time', { unit: 's' }))).toBe(true);
    expect('record' in aggregator.route(sum('grafana.dashboard.engaged_time', { unit: '' }))).toBe(true);
  });

  it('refuses negative, non-finite and missing values and records nothing for them', async () => {
    const { values, record } = setup();
    const sessions = sum('grafana.dashboard.sessions');
    expect(record(sessions, -1, { dashboard_uid: 'd1' })).toMatchObject({ reason: 'invalid_value' });
    expect(record(sessions, NaN, { dashboard_uid: 'd1' })).toMatchObject({ reason: 'invalid_value' });
    expect(record(sessions, Infinity, { dashboard_uid: 'd1' })).toMatchObject({ reason: 'invalid_value' });
    expect(record(sessions, undefined, { dashboard_uid: 'd1' })).toMatchObject({ reason: 'no_value' });
    expect(await values('grafana_analytics_sessions_total')).toEqual([]);
  });

  it("refuses an increment past what one browser can record in the point's window (1e308 never reaches a total)", async () => {
    const { values, record } = setup();
    const engaged = sum('grafana.dashboard.engaged_time');
    const labels = { dashboard_uid: 'd1', engagement_state: 'focused' };
    // 3600 s plus the 300 s window: the most one tab can hold.
    expect(record(engaged, 3900, labels, BROWSER, 300)).toEqual({ overflow: false });
    expect(record(engaged, 3901, labels, BROWSER, 300)).toMatchObject({ reason: 'implausible_value' });
    expect(record(engaged, 1e308, labels)).toMatchObject({ reason: 'implausible_value' });
    expect(record(engaged, 9223372036854775807, labels)).toMatchObject({ reason: 'implausible_value' });
    // A sender that aggregates browsers (bearer) gets the bound times its factor.
    expect(record(engaged, 100_000, labels, { subject: undefined, incrementFactor: 10_000 })).toEqual({
      overflow: false,
    });
    expect(await values('footfall_dashboard_engaged_seconds_total')).toEqual([[labels, 103_900]]);
  });

  it("bounds a histogram point's count by its window and its sum by count × the longest plausible observation", () => {
    const { aggregator } = setup();
    const route = aggregator.route({
      type: 'histogram',
      name: 'grafana.dashboard.query.duration',
      unit: 's',
      temporality: 'delta',
      points: [],
    });
    if (!('record' in route)) {
      throw new Error(route.message);
    }
    const bounds = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    const point = (count: number, sum: number): HistogramPoint => ({
      ...histogramPoint(count, sum),
      explicitBounds: bounds,
      bucketCounts: [count, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    });
    expect(route.check(point(10, 3), BROWSER)).toBeUndefined();
    expect(route.check(point(10, 86_400 * 10 + 1), BROWSER)?.reason).toBe('implausible_value');
    expect(route.check(point(10_000 + 100 * 60 + 1, 1), BROWSER)?.reason).toBe('implausible_value');
  });

  it('caps a metric once, whatever name its sender used, with exactly one overflow series', async () => {
    const { values, record, registry } = setup({ maxSeries: 3 });
    for (let i = 0; i < 4; i++) {
      record(sum('grafana.dashboard.heartbeats'), 1, { dashboard_uid: `otel${i}` });
    }
    for (let i = 0; i < 4; i++) {
      record(sum('footfall_dashboard_heartbeats_total'), 1, { dashboard_uid: `prom${i}` });
    }
    const series = await values('footfall_dashboard_heartbeats_total');
    expect(series).toHaveLength(4);
    const overflow = series.filter(([labels]) => 'otel.metric.overflow' in labels);
    expect(overflow).toEqual([[{ 'otel.metric.overflow': true }, 5]]);
    expect(registry.sizes().get('footfall_dashboard_heartbeats_total')).toBe(4);
  });

  it('gives the SDK a cardinality limit above the cap, so only the cap folds series', async () => {
    const { values, record } = setup({ maxSeries: 2500 });
    const sessions = sum('grafana.dashboard.sessions');
    for (let i = 0; i < 2400; i++) {
      record(sessions, 1, { dashboard_uid: `d${i}` });
    }
    const series = await values('grafana_analytics_sessions_total');
    expect(series).toHaveLength(2400);
    expect(series.some(([labels]) => 'otel.metric.overflow' in labels)).toBe(false);
  });

  it("pays for new series from the sender's budget and refuses what it cannot pay, leaving other senders theirs", async () => {
    const { values, record } = setup({ newSeriesPerHour: 10 });
    const heartbeats = sum('grafana.dashboard.heartbeats');
    const mallory: PointSender = { subject: 'mallory', incrementFactor: 1 };
    const alice: PointSender = { subject: 'alice', incrementFactor: 1 };
    for (let i = 0; i < 10; i++) {
      expect(record(heartbeats, 1, { dashboard_uid: `fake${i}` }, mallory)).toEqual({ overflow: false });
    }
    expect(record(heartbeats, 1, { dashboard_uid: 'fake10' }, mallory)).toMatchObject({ reason: 'series_budget' });
    // Series that exist cost nothing.
    expect(record(heartbeats, 1, { dashboard_uid: 'fake3' }, mallory)).toEqual({ overflow: false });
    expect(record(heartbeats, 1, { dashboard_uid: 'real' }, alice)).toEqual({ overflow: false });
    const series = await values('footfall_dashboard_heartbeats_total');
    expect(series).toHaveLength(11);
    expect(series.find(([l]) => l.dashboard_uid === 'fake10')).toBeUndefined();
  });

  it("pays for a point's derived series too, all or nothing", async () => {
    const { values, record } = setup({ newSeriesPerHour: 3 });
    const sessions = sum('grafana.dashboard.sessions');
    const mallory: PointSender = { subject: 'mallory', incrementFactor: 1 };
    // A new dashboard and a new locale: two series.
    expect(record(sessions, 1, { dashboard_uid: 'd1', user_locale: 'x1' }, mallory)).toEqual({ overflow: false });
    // Two more needed, one left: nothing recorded.
    expect(record(sessions, 1, { dashboard_uid: 'd2', user_locale: 'x2' }, mallory)).toMatchObject({
      reason: 'series_budget',
    });
    expect(await values('grafana_analytics_sessions_total')).toHaveLength(1);
    expect(await values('footfall_sessions_by_preferences_total')).toHaveLength(1);
  });

  it('drops idle series, freeing their places under the cap, and keeps every live total exact', async () => {
    const { values, record, clock, expire } = setup({ maxSeries: 2, idleExpiryMs: 60_000 });
    const heartbeats = sum('grafana.dashboard.heartbeats');
    record(heartbeats, 2, { dashboard_uid: 'old' });
    clock.advance(30_000);
    record(heartbeats, 3, { dashboard_uid: 'live' });
    clock.advance(40_000);
    record(heartbeats, 1, { dashboard_uid: 'live' });
    expect(await expire()).toBe(1);
    expect(await values('footfall_dashboard_heartbeats_total')).toEqual([[{ dashboard_uid: 'live' }, 4]]);
    // The freed place takes a new dashboard rather than folding it into overflow.
    expect(record(heartbeats, 5, { dashboard_uid: 'new' }, BROWSER)).toEqual({ overflow: false });
    expect(await values('footfall_dashboard_heartbeats_total')).toEqual([
      [{ dashboard_uid: 'live' }, 4],
      [{ dashboard_uid: 'new' }, 5],
    ]);
  });

  it('keeps counting while idle series are being dropped', async () => {
    const { values, record, clock, registry, counters } = setup({ idleExpiryMs: 1000, maxSeries: 10_000 });
    const heartbeats = sum('grafana.dashboard.heartbeats');
    for (let i = 0; i < 5000; i++) {
      record(heartbeats, 1, { dashboard_uid: `d${i}` });
    }
    clock.advance(2000);
    record(heartbeats, 1, { dashboard_uid: 'd0' });
    registry.expire(clock.now());
    const moving = counters.retain((family, attributes) => registry.lastUpdated(family, attributes) !== undefined);
    // Points arriving while series are dropped are not lost.
    record(heartbeats, 10, { dashboard_uid: 'd0' });
    expect(await moving).toBe(4999);
    expect(await values('footfall_dashboard_heartbeats_total')).toEqual([[{ dashboard_uid: 'd0' }, 12]]);
  });

  it("restores saved series onto today's labels, summing away labels no longer kept", async () => {
    const { aggregator, values } = setup();
    const { restored, skipped } = aggregator.restore({
      savedAt: 1,
      counters: [
        { name: 'grafana_analytics_sessions_total', labels: { dashboard_uid: 'd1', user_theme: 'dark' }, value: 2 },
        { name: 'grafana_analytics_sessions_total', labels: { dashboard_uid: 'd1', user_theme: 'light' }, value: 3 },
        { name: 'grafana_analytics_sessions_total', labels: { otel_metric_overflow: 'true' }, value: 7 },
        { name: 'gone_from_the_catalog_total', labels: {}, value: 1 },
      ],
      histograms: [],
    });
    expect({ restored, skipped }).toEqual({ restored: 3, skipped: 1 });
    expect(await values('grafana_analytics_sessions_total')).toEqual([
      [{ dashboard_uid: 'd1' }, 5],
      [{ 'otel.metric.overflow': true }, 7],
    ]);
  });
});
