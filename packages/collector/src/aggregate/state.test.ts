import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AggregationTemporality, MetricReader, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { HistogramPoint, Metric, NumberPoint } from '../decode/index.ts';
import { createSeriesCap, type Labels } from '../limits/index.ts';
import { createAggregator } from './aggregator.ts';
import { METRIC_CATALOG } from './catalog.ts';
import { createHistogramStore } from './histogram-store.ts';
import { createCollectorMeterProvider } from './meter-provider.ts';
import { createStateFile } from './state-file.ts';
import { snapshotState, type CollectorState } from './state.ts';

class CumulativeReader extends MetricReader {
  constructor(producers: MetricProducer[]) {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE, metricProducers: producers });
  }
  protected override onForceFlush = () => Promise.resolve();
  protected override onShutdown = () => Promise.resolve();
}

/** One collector's aggregate stage, as collector.ts wires it. */
function stage(maxSeriesPerMetric = 100) {
  const histograms = createHistogramStore(METRIC_CATALOG);
  const reader = new CumulativeReader([histograms]);
  const meterProvider = createCollectorMeterProvider({ catalog: METRIC_CATALOG, readers: [reader], maxSeriesPerMetric, serviceVersion: 't' });
  const aggregator = createAggregator({ catalog: METRIC_CATALOG, meterProvider, histograms });
  const cap = createSeriesCap(maxSeriesPerMetric);
  return {
    aggregator,
    cap,
    record(metric: Metric, point: NumberPoint | HistogramPoint, labels: Labels) {
      const route = aggregator.route(metric);
      if (!('record' in route)) throw new Error(route.message);
      route.record(point, cap.admit(metric.name, labels));
    },
    snapshot: async () => snapshotState((await reader.collect()).resourceMetrics, new Date(0)),
  };
}

const sessions: Metric = { name: 'grafana.dashboard.sessions', type: 'sum', monotonic: true, temporality: 'delta', points: [] };
const engaged: Metric = { ...sessions, name: 'grafana.dashboard.engaged_time' };
const duration: Metric = { name: 'grafana.dashboard.session.duration', type: 'histogram', temporality: 'delta', points: [] };
const BOUNDS = METRIC_CATALOG.find((m) => m.name === duration.name)!.buckets!;

function histogramPoint(bucket: number, sum: number): HistogramPoint {
  const bucketCounts = new Array<number>(BOUNDS.length + 1).fill(0);
  bucketCounts[bucket] = 1;
  return { attributes: [], explicitBounds: [...BOUNDS], bucketCounts, sum, count: 1 };
}

/** A stage that has seen some traffic: counters (one with a legacy series) and a histogram. */
function busyStage() {
  const a = stage();
  const alpha = { dashboard_uid: 'alpha', user_role: 'Viewer' };
  a.record(sessions, { attributes: [], value: 3 }, alpha);
  a.record(sessions, { attributes: [], value: 2 }, { dashboard_uid: 'beta', user_role: 'Editor' });
  a.record(engaged, { attributes: [], value: 12.5 }, { ...alpha, engagement_state: 'focused' });
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

describe('state: snapshot and restore', () => {
  it('a restored stage holds exactly what the saved one did, legacy series and histograms included, and keeps counting', async () => {
    const saved = await busyStage().snapshot();
    expect(saved.counters.map((c) => c.name).sort()).toEqual([
      'footfall_dashboard_engaged_seconds_total',
      'grafana_analytics_sessions_duration_seconds_total',
      'grafana_analytics_sessions_total',
      'grafana_analytics_sessions_total',
    ]);
    const b = stage();
    expect(b.aggregator.restore(JSON.parse(JSON.stringify(saved)) as CollectorState, b.cap)).toEqual({ restored: 5, skipped: 0 });
    expect(sorted(await b.snapshot())).toEqual(sorted(saved));

    b.record(sessions, { attributes: [], value: 1 }, { dashboard_uid: 'alpha', user_role: 'Viewer' });
    b.record(duration, histogramPoint(2, 50), { dashboard_uid: 'alpha' });
    const after = await b.snapshot();
    expect(after.counters.find((c) => c.labels.dashboard_uid === 'alpha' && c.name === 'grafana_analytics_sessions_total')?.value).toBe(4);
    expect(after.histograms[0]).toMatchObject({ count: 3, sum: 20_095 });
  });

  it('restored series count towards the series cap: past it they fold into the overflow series', async () => {
    const saved = await busyStage().snapshot();
    const small = stage(1);
    small.aggregator.restore(saved, small.cap);
    const sessionsSeries = (await small.snapshot()).counters.filter((c) => c.name === 'grafana_analytics_sessions_total');
    expect(sessionsSeries).toHaveLength(2);
    expect(sessionsSeries.find((c) => c.labels.otel_metric_overflow === 'true')?.value).toBe(2);
    // The cap is full: a new series from traffic folds too.
    small.record(sessions, { attributes: [], value: 1 }, { dashboard_uid: 'gamma' });
    expect(small.cap.admit(sessions.name, { dashboard_uid: 'delta' }).overflow).toBe(true);
  });

  it('skips what no longer fits the catalog: an unknown metric, changed histogram boundaries', async () => {
    const saved = await busyStage().snapshot();
    const changed: CollectorState = {
      ...saved,
      counters: [...saved.counters, { name: 'gone_total', labels: {}, value: 1 }],
      histograms: saved.histograms.map((h) => ({ ...h, boundaries: h.boundaries.map((b) => b * 2) })),
    };
    const b = stage();
    expect(b.aggregator.restore(changed, b.cap)).toEqual({ restored: 4, skipped: 2 });
    expect((await b.snapshot()).histograms).toEqual([]);
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
    expect(await file.load()).toEqual(state);
  });

  it.each([
    ['not JSON', '{"version":1,'],
    ['the wrong shape', '{"version":1,"savedAt":"x","counters":[{"name":"a","labels":{},"value":-1}],"histograms":[]}'],
    ['another version', '{"version":2,"savedAt":"x","counters":[],"histograms":[]}'],
  ])('a file that is %s: starts clean, says so, keeps the file aside', async (_, text) => {
    const folder = dir();
    const path = join(folder, 'state.json');
    writeFileSync(path, text);
    const lines: string[] = [];
    const file = createStateFile(path, pino({ level: 'info' }, { write: (line: string) => lines.push(line) }));
    expect(await file.load()).toBeUndefined();
    expect(lines.join('')).toContain('the state file is corrupt: counters start from zero');
    const aside = readdirSync(folder).filter((f) => f.startsWith('state.json.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(folder, aside[0]!), 'utf8')).toBe(text);
  });

  it('a save into a missing directory fails with the reason, and loading never throws', async () => {
    const file = createStateFile(join(dir(), 'missing', 'state.json'), logger);
    await expect(file.save(await busyStage().snapshot())).rejects.toThrow(/ENOENT/);
    expect(await createStateFile(dir(), logger).load()).toBeUndefined(); // a directory, not a file
  });
});
