import type { Attributes, HrTime } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type Histogram,
  type HistogramMetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { LRUCache } from 'lru-cache';
import type { HistogramPoint } from '../decode/index.js';
import type { AdmittedSeries } from '../limits/index.js';
import type { CatalogMetric } from './catalog.js';
import { refusal, type Refusal } from './refusal.js';

interface SeriesState {
  readonly attributes: Attributes;
  readonly startTime: HrTime;
  readonly counts: number[];
  sum: number;
  count: number;
  /**
   * The series as a cumulative point, made at the first collection after it changed and shared by the
   * collections until it changes again (it is never changed itself).
   */
  point: DataPoint<Histogram> | undefined;
}

interface HistogramFamily {
  readonly metric: CatalogMetric;
  readonly boundaries: readonly number[];
  readonly series: Map<string, SeriesState>;
  /** Incoming bounds (joined) → target bucket of each incoming bucket; undefined if they cannot merge. */
  readonly mappings: LRUCache<string, { map: number[] | undefined }>;
  /** The bounds last looked up, and their map. */
  last?: { readonly bounds: readonly number[]; readonly map: number[] | undefined };
}

/**
 * Cumulative histograms built from the delta histograms browsers send. The SDK cannot take
 * pre-aggregated buckets (Histogram.record takes single values), so this store merges bucket counts
 * itself and hands the result to the readers as a MetricProducer. A point merges when every catalog
 * boundary is also one of its own boundaries: then each incoming bucket lies inside exactly one
 * catalog bucket and the merge is exact. Anything else is refused, never approximated.
 */
export interface HistogramStore extends MetricProducer {
  /** Why the point cannot be merged, if it cannot. */
  check(metric: CatalogMetric, point: HistogramPoint): Refusal | undefined;
  /** Merges a point that passed check(). */
  merge(metric: CatalogMetric, series: AdmittedSeries, point: HistogramPoint): void;
  /**
   * Adds a saved cumulative series (a restart's state file). False when it no longer fits: the metric
   * left the catalog or its boundaries changed.
   */
  restore(
    metric: CatalogMetric,
    series: AdmittedSeries,
    saved: { boundaries: readonly number[]; counts: readonly number[]; sum: number; count: number }
  ): boolean;
  /** Whether a saved series would fit restore(). */
  fits(metric: CatalogMetric, boundaries: readonly number[]): boolean;
  /** Drops the series for which keep() is false (by family name and attributes); returns how many. */
  retain(keep: (family: string, attributes: Attributes) => boolean): number;
}

export function createHistogramStore(catalog: readonly CatalogMetric[]): HistogramStore {
  const families = new Map<string, HistogramFamily>();
  for (const metric of catalog) {
    if (metric.kind !== 'histogram') {
      continue;
    }
    families.set(metric.name, {
      metric,
      // Shared by every point of the family, so frozen: no reader may change it under the others.
      boundaries: Object.freeze([...(metric.buckets ?? [])]),
      series: new Map(),
      mappings: new LRUCache({ max: 64 }),
    });
  }

  function bucketMap(family: HistogramFamily, bounds: readonly number[]): number[] | undefined {
    // Nearly every point comes with the bounds the last one had: compared first, without a key string.
    const last = family.last;
    if (
      last !== undefined &&
      last.bounds.length === bounds.length &&
      last.bounds.every((b, i) => Object.is(b, bounds[i]))
    ) {
      return last.map;
    }
    const cacheKey = bounds.join(',');
    let entry = family.mappings.get(cacheKey);
    if (entry === undefined) {
      entry = { map: computeBucketMap(family.boundaries, bounds) };
      family.mappings.set(cacheKey, entry);
    }
    family.last = { bounds: [...bounds], map: entry.map };
    return entry.map;
  }

  function seriesState(family: HistogramFamily, series: AdmittedSeries): SeriesState {
    let state = family.series.get(series.key);
    if (state === undefined) {
      state = {
        attributes: series.attributes,
        startTime: hrTime(),
        counts: new Array<number>(family.boundaries.length + 1).fill(0),
        sum: 0,
        count: 0,
        point: undefined,
      };
      family.series.set(series.key, state);
    }
    return state;
  }

  return {
    check(metric, point) {
      const family = families.get(metric.name);
      if (!family) {
        return refusal('unknown_metric', `${metric.name} is not a histogram in the catalog`);
      }
      const invalid = validate(point);
      if (invalid) {
        return refusal('invalid_value', `${metric.name}: ${invalid}`);
      }
      if (!bucketMap(family, point.explicitBounds)) {
        return refusal(
          'bucket_mismatch',
          `${metric.name}: bucket boundaries must include [${family.boundaries.join(', ')}]`
        );
      }
      return undefined;
    },

    merge(metric, series, point) {
      const family = families.get(metric.name)!;
      const map = bucketMap(family, point.explicitBounds)!;
      const state = seriesState(family, series);
      for (let i = 0; i < map.length; i++) {
        state.counts[map[i]!]! += point.bucketCounts[i]!;
      }
      state.sum += point.sum!;
      state.count += point.count;
      state.point = undefined;
    },

    fits(metric, boundaries) {
      const family = families.get(metric.name);
      return (
        family !== undefined &&
        boundaries.length === family.boundaries.length &&
        boundaries.every((b, i) => b === family.boundaries[i])
      );
    },

    restore(metric, series, saved) {
      if (!this.fits(metric, saved.boundaries)) {
        return false;
      }
      const family = families.get(metric.name)!;
      const state = seriesState(family, series);
      for (let i = 0; i < saved.counts.length; i++) {
        state.counts[i]! += saved.counts[i]!;
      }
      state.sum += saved.sum;
      state.count += saved.count;
      state.point = undefined;
      return true;
    },

    retain(keep) {
      let dropped = 0;
      for (const family of families.values()) {
        for (const [key, state] of family.series) {
          if (keep(family.metric.prometheus, state.attributes)) {
            continue;
          }
          family.series.delete(key);
          dropped++;
        }
      }
      return dropped;
    },

    async collect(): Promise<CollectionResult> {
      const endTime = hrTime();
      const metrics: HistogramMetricData[] = [];
      for (const family of families.values()) {
        if (family.series.size === 0) {
          continue;
        }
        const dataPoints: Array<DataPoint<Histogram>> = [];
        for (const state of family.series.values()) {
          state.point ??= {
            attributes: state.attributes,
            startTime: state.startTime,
            endTime,
            value: {
              buckets: { boundaries: family.boundaries as number[], counts: [...state.counts] },
              sum: state.sum,
              count: state.count,
            },
          };
          dataPoints.push(state.point);
        }
        metrics.push({
          descriptor: {
            name: family.metric.prometheus,
            description: family.metric.description,
            unit: family.metric.unit,
            valueType: ValueType.DOUBLE,
          },
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints,
        });
      }
      return {
        // Readers put producer metrics under their own resource; this one is ignored.
        resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: { name: 'footfall' }, metrics }] },
        errors: [],
      };
    },
  };
}

function validate(point: HistogramPoint): string | undefined {
  if (point.sum === undefined || !Number.isFinite(point.sum) || point.sum < 0) {
    return 'sum must be a finite, non-negative number';
  }
  if (point.bucketCounts.length !== point.explicitBounds.length + 1) {
    return 'bucketCounts must have one entry more than explicitBounds';
  }
  let total = 0;
  for (const c of point.bucketCounts) {
    if (!Number.isSafeInteger(c) || c < 0) {
      return 'bucket counts must be non-negative integers';
    }
    total += c;
  }
  if (total !== point.count) {
    return 'count must equal the sum of bucketCounts';
  }
  return undefined;
}

/**
 * For each incoming bucket i, the index of the catalog bucket that contains it, or undefined when some
 * catalog boundary is not an incoming boundary (the incoming buckets would straddle it).
 */
export function computeBucketMap(target: readonly number[], incoming: readonly number[]): number[] | undefined {
  for (let i = 0; i < incoming.length; i++) {
    if (!Number.isFinite(incoming[i]!) || (i > 0 && incoming[i]! <= incoming[i - 1]!)) {
      return undefined;
    }
  }
  const bounds = new Set(incoming);
  if (!target.every((b) => bounds.has(b))) {
    return undefined;
  }
  const map: number[] = [];
  let j = 0;
  for (let i = 0; i <= incoming.length; i++) {
    const upper = i < incoming.length ? incoming[i]! : Infinity;
    while (j < target.length && target[j]! < upper) {
      j++;
    }
    map.push(j);
  }
  return map;
}
