import type { Counter, MeterProvider } from '@opentelemetry/api';
import type { HistogramPoint, Metric, NumberPoint } from '../decode/index.js';
import { labelName, OVERFLOW_LABELS, seriesKey, type AdmittedSeries, type Labels, type SeriesCap } from '../limits/index.js';
import type { CatalogMetric } from './catalog.js';
import type { HistogramStore } from './histogram-store.js';
import { CATALOG_METER } from './meter-provider.js';
import { refusal, type Refusal } from './refusal.js';
import type { CollectorState } from './state.js';

/** Where the points of one accepted metric go. */
export interface Route {
  readonly metric: CatalogMetric;
  /** Label names the metric keeps. */
  readonly labelNames: ReadonlySet<string>;
  /** Why the point is refused, if it is; called before its series is admitted, so a refused point never takes a series slot. */
  check(point: NumberPoint | HistogramPoint): Refusal | undefined;
  /** Records a point that passed check(). */
  record(point: NumberPoint | HistogramPoint, series: AdmittedSeries): void;
}

/**
 * The aggregate stage: maps each received metric to its catalog instrument and records points into
 * it. Delta monotonic sums become Counter.add, gauges Gauge.record, delta histograms merge into the
 * histogram store.
 * Cumulative input is refused: turning it into deltas needs per-sender state, which would break exact
 * sums across collector replicas. Unknown names are refused too.
 */
export interface Aggregator {
  route(metric: Metric): Route | Refusal;
  /**
   * Adds a state file's cumulative values, before the first request: Prometheus then sees each counter
   * continue where the last process left it rather than reset. Series go through the series cap like
   * new ones. Entries that no longer fit the catalog are skipped and counted.
   */
  restore(state: CollectorState, seriesCap: SeriesCap): { restored: number; skipped: number };
}

export interface AggregatorSettings {
  readonly catalog: readonly CatalogMetric[];
  readonly meterProvider: MeterProvider;
  readonly histograms: HistogramStore;
}

export function createAggregator(settings: AggregatorSettings): Aggregator {
  const meter = settings.meterProvider.getMeter(CATALOG_METER);
  const routes = new Map<string, Route>();
  /** Prometheus name → its counter, and its catalog metric unless it is a legacy series (which has no series cap). */
  const counters = new Map<string, { counter: Counter; metric: CatalogMetric | undefined }>();
  const histogramsByName = new Map<string, CatalogMetric>();
  for (const metric of settings.catalog) {
    const labelNames = new Set(metric.attributes.map((a) => labelName(a)!));
    if (metric.kind === 'histogram') {
      histogramsByName.set(metric.prometheus, metric);
      routes.set(metric.name, {
        metric,
        labelNames,
        check: (point) => settings.histograms.check(metric, point as HistogramPoint),
        record: (point, series) => settings.histograms.merge(metric, series, point as HistogramPoint),
      });
      continue;
    }
    if (metric.kind === 'gauge') {
      const gauge = meter.createGauge(metric.prometheus, { description: metric.description, unit: metric.unit });
      const notFinite = refusal('invalid_value', `${metric.name}: gauge values must be finite`);
      routes.set(metric.name, {
        metric,
        labelNames,
        check: (point) => (Number.isFinite((point as NumberPoint).value) ? undefined : notFinite),
        record: (point, series) => gauge.record((point as NumberPoint).value, series.labels),
      });
      continue;
    }
    const counter = meter.createCounter(metric.prometheus, { description: metric.description, unit: metric.unit });
    const legacy = metric.legacy
      ? meter.createCounter(metric.legacy.prometheus, {
          description: `${metric.description} Series kept from the macropower-analytics-panel server.`,
          unit: metric.unit,
        })
      : undefined;
    const recordLegacy = legacy ? legacyRecorder(legacy, metric) : undefined;
    counters.set(metric.prometheus, { counter, metric });
    if (legacy) counters.set(metric.legacy!.prometheus, { counter: legacy, metric: undefined });
    const negative = refusal('invalid_value', `${metric.name}: counter increments must be finite and non-negative`);
    routes.set(metric.name, {
      metric,
      labelNames,
      check(point) {
        const value = (point as NumberPoint).value;
        return Number.isFinite(value) && value >= 0 ? undefined : negative;
      },
      record(point, series) {
        const value = (point as NumberPoint).value;
        counter.add(value, series.labels);
        recordLegacy?.(value, series);
      },
    });
  }

  // A collector forwarding to this one (forward.temporality: delta) sends the Prometheus names it
  // aggregated under; they mean the same metric. (Legacy series are not forwarded: they are derived here.)
  for (const metric of settings.catalog) routes.set(metric.prometheus, routes.get(metric.name)!);

  return {
    route(metric) {
      const route = routes.get(metric.name);
      if (!route) return refusal('unknown_metric', `metric ${JSON.stringify(metric.name)} is not in the catalog`);
      return checkShape(metric, route.metric) ?? route;
    },

    restore(state, seriesCap) {
      let restored = 0;
      let skipped = 0;
      const admit = (metric: CatalogMetric, labels: Labels): AdmittedSeries =>
        labels.otel_metric_overflow === 'true'
          ? { labels: { ...OVERFLOW_LABELS }, key: seriesKey(OVERFLOW_LABELS), overflow: true, source: labels }
          : seriesCap.admit(metric.name, labels);
      for (const saved of state.counters) {
        const target = counters.get(saved.name);
        if (!target) {
          skipped++;
          continue;
        }
        // A legacy series is derived from its metric's points and capped with them, never on its own.
        const labels = target.metric ? admit(target.metric, saved.labels).labels : saved.labels;
        target.counter.add(saved.value, labels);
        restored++;
      }
      for (const saved of state.histograms) {
        const metric = histogramsByName.get(saved.name);
        if (metric && settings.histograms.restore(metric, admit(metric, saved.labels), saved)) restored++;
        else skipped++;
      }
      return { restored, skipped };
    },
  };
}

const EXPECTED = {
  counter: { type: 'sum', words: 'a monotonic sum' },
  gauge: { type: 'gauge', words: 'a gauge' },
  histogram: { type: 'histogram', words: 'a histogram' },
} as const;

function checkShape(metric: Metric, expected: CatalogMetric): Refusal | undefined {
  const { type, words } = EXPECTED[expected.kind];
  if (metric.type !== type || (metric.type === 'sum' && !metric.monotonic)) {
    return refusal('type_mismatch', `${metric.name} must be ${words}`);
  }
  if (metric.type !== 'gauge' && metric.temporality !== 'delta') {
    return refusal(
      'not_delta',
      `${metric.name} has ${metric.temporality} temporality; only DELTA is accepted (set temporalityPreference: DELTA)`,
    );
  }
  return undefined;
}

function legacyRecorder(counter: Counter, metric: CatalogMetric): (value: number, series: AdmittedSeries) => void {
  const legacy = metric.legacy!;
  const names = legacy.attributes.map((a) => labelName(a)!);
  const when = legacy.when ? { name: labelName(legacy.when.attribute)!, values: new Set(legacy.when.values) } : undefined;
  return (value, series) => {
    const source = series.source;
    if (when && !when.values.has(source[when.name] ?? '')) return;
    if (series.overflow) {
      counter.add(value, OVERFLOW_LABELS);
      return;
    }
    const labels: Labels = {};
    for (const name of names) if (Object.hasOwn(source, name)) labels[name] = source[name]!;
    counter.add(value, labels);
  };
}
