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
  readonly value: number | Histogram;
  readonly endTime: HrTime;
}

/**
 * The catalog's cumulative series as deltas since the previous collection, for a DELTA forward stage.
 * The counters and histograms are cumulative wherever they are read (Prometheus, the state file), and
 * they continue when idle series are dropped, so the difference between two collections is exactly
 * what arrived in between. A series with nothing new is left out, as the SDK does for its own delta
 * instruments; a series that went away is forgotten; one that went down (it expired and came back) starts
 * again from its whole value.
 */
export function cumulativeToDelta(cumulative: MetricProducer): MetricProducer {
  let previous = new Map<string, Totals>();

  return {
    async collect(options): Promise<CollectionResult> {
      const result = await cumulative.collect(options);
      const next = new Map<string, Totals>();
      const scopeMetrics = result.resourceMetrics.scopeMetrics.map((scope) => ({
        ...scope,
        metrics: scope.metrics.flatMap((metric): MetricData[] => {
          const name = metric.descriptor.name;
          if (metric.dataPointType === DataPointType.SUM) {
            const dataPoints = metric.dataPoints.flatMap((point) => {
              const key = `${name}\u0000${JSON.stringify(Object.entries(point.attributes).sort())}`;
              const last = previous.get(key);
              next.set(key, { value: point.value, endTime: point.endTime });
              const base = last !== undefined && (last.value as number) <= point.value ? last : undefined;
              const delta = point.value - ((base?.value as number | undefined) ?? 0);
              if (base && delta === 0) {
                return [];
              }
              return [{ ...point, startTime: base?.endTime ?? point.startTime, value: delta }];
            });
            return [{ ...metric, aggregationTemporality: AggregationTemporality.DELTA, dataPoints }];
          }
          if (metric.dataPointType === DataPointType.HISTOGRAM) {
            const dataPoints = metric.dataPoints.flatMap((point): Array<DataPoint<Histogram>> => {
              const key = `${name}\u0000${JSON.stringify(Object.entries(point.attributes).sort())}`;
              const last = previous.get(key);
              next.set(key, { value: point.value, endTime: point.endTime });
              const was = last?.value as Histogram | undefined;
              const base = was !== undefined && was.count <= point.value.count ? was : undefined;
              if (base && base.count === point.value.count) {
                return [];
              }
              if (!base) {
                return [point];
              }
              const { buckets, sum = 0, count } = point.value;
              return [
                {
                  ...point,
                  startTime: last!.endTime,
                  value: {
                    buckets: {
                      boundaries: buckets.boundaries,
                      counts: buckets.counts.map((c, i) => c - (base.buckets.counts[i] ?? 0)),
                    },
                    sum: sum - (base.sum ?? 0),
                    count: count - base.count,
                  },
                },
              ];
            });
            return [{ ...metric, aggregationTemporality: AggregationTemporality.DELTA, dataPoints }];
          }
          return [metric];
        }),
      }));
      previous = next;
      return { ...result, resourceMetrics: { ...result.resourceMetrics, scopeMetrics } };
    },
  };
}
