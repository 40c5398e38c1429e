/**
 * The aggregate stage as the collector wires it (series registry, counter store, histogram store,
 * aggregator), for unit tests: one place that knows how the pieces fit.
 */
import type { Attributes } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import {
  combineProducers,
  counterFamilies,
  createAggregator,
  createCounterStore,
  createHistogramStore,
  DEFAULT_LEGACY_LABELS,
  expireIdleSeries,
  METRIC_CATALOG,
  type CatalogMetric,
} from '../aggregate/index.ts';
import { createSenderBudget, createSeriesRegistry, UNLIMITED_BUDGET } from '../limits/index.ts';

export interface TestAggregationOptions {
  readonly catalog?: readonly CatalogMetric[];
  readonly maxSeries?: number;
  readonly legacyLabels?: readonly string[];
  /** New series per sender per hour; undefined: unlimited. */
  readonly newSeriesPerHour?: number;
  readonly idleExpiryMs?: number;
}

export function createTestAggregation(options: TestAggregationOptions = {}) {
  const catalog = options.catalog ?? METRIC_CATALOG;
  const legacyLabels = options.legacyLabels ?? DEFAULT_LEGACY_LABELS;
  const maxSeries = options.maxSeries ?? 1000;
  let time = 1_700_000_000_000;
  const clock = { now: () => time, advance: (ms: number) => void (time += ms) };
  const registry = createSeriesRegistry({
    maxSeriesPerFamily: maxSeries,
    idleExpiryMs: options.idleExpiryMs ?? 30 * 24 * 3600 * 1000,
    budget:
      options.newSeriesPerHour === undefined
        ? UNLIMITED_BUDGET
        : createSenderBudget({ perHour: options.newSeriesPerHour, maxSenders: 100 }),
  });
  const counters = createCounterStore({
    families: counterFamilies(catalog, legacyLabels),
    cardinalityLimit: maxSeries + 2,
  });
  const histograms = createHistogramStore(catalog);
  const aggregator = createAggregator({ catalog, counters, histograms, registry, legacyLabels, now: clock.now });
  const data = combineProducers([counters, histograms]);

  /** Every counter series of a family: [attributes, value]. */
  async function values(family: string): Promise<Array<[Attributes, number]>> {
    const { resourceMetrics } = await data.collect();
    const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === family);
    if (!metric || metric.dataPointType !== DataPointType.SUM) {
      return [];
    }
    // The counter store's shards hand series back in no particular order: sorted, the order is the test's.
    const points = metric.dataPoints.map((p): [Attributes, number] => [p.attributes, p.value]);
    return points.sort(([a], [b]) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  }

  /** Forgets idle series the way the collector's sweep does. */
  const expire = (): Promise<number> => expireIdleSeries(registry, { histograms, counters }, clock.now());

  return { aggregator, registry, counters, histograms, data, clock, values, expire };
}
