import type { HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type Histogram,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';

interface Totals {
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
  readonly endTime: HrTime;
}

/**
 * The histogram store's cumulative histograms as deltas since the previous collection, for a DELTA
 * forward reader. One instance per reader: the totals it remembers are that reader's. A series with
 * nothing new since then is left out, as the SDK does for its own delta instruments.
 */
export function histogramDeltas(cumulative: MetricProducer): MetricProducer {
  const previous = new Map<string, Totals>();

  function delta(name: string, point: DataPoint<Histogram>): DataPoint<Histogram> | undefined {
    const key = `${name}\u0000${JSON.stringify(Object.entries(point.attributes).sort())}`;
    const last = previous.get(key);
    const { buckets, sum = 0, count } = point.value;
    previous.set(key, { counts: buckets.counts, sum, count, endTime: point.endTime });
    if (!last) return point;
    if (count === last.count) return undefined;
    return {
      ...point,
      startTime: last.endTime,
      value: {
        buckets: { boundaries: buckets.boundaries, counts: buckets.counts.map((c, i) => c - (last.counts[i] ?? 0)) },
        sum: sum - last.sum,
        count: count - last.count,
      },
    };
  }

  return {
    async collect(options): Promise<CollectionResult> {
      const result = await cumulative.collect(options);
      const scopeMetrics = result.resourceMetrics.scopeMetrics.map((scope) => ({
        ...scope,
        metrics: scope.metrics.map((metric): MetricData => {
          if (metric.dataPointType !== DataPointType.HISTOGRAM) return metric;
          const name = metric.descriptor.name;
          const dataPoints = metric.dataPoints.flatMap((p) => delta(name, p) ?? []);
          return { ...metric, aggregationTemporality: AggregationTemporality.DELTA, dataPoints };
        }),
      }));
      return { ...result, resourceMetrics: { ...result.resourceMetrics, scopeMetrics } };
    },
  };
}
