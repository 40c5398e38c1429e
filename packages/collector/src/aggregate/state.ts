import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { z } from 'zod';
import { CATALOG_METER } from './meter-provider.js';

const labels = z.record(z.string(), z.string());
const count = z.number().int().nonnegative();

/** What the state file holds: every catalog counter and histogram series with its cumulative value. */
export const collectorStateSchema = z
  .object({
    version: z.literal(1),
    savedAt: z.string(),
    counters: z.array(z.object({ name: z.string(), labels, value: z.number().nonnegative() }).strict()),
    histograms: z.array(
      z
        .object({
          name: z.string(),
          labels,
          boundaries: z.array(z.number()),
          counts: z.array(count),
          sum: z.number().nonnegative(),
          count,
        })
        .strict()
        .refine((h) => h.counts.length === h.boundaries.length + 1, { message: 'counts must have one entry more than boundaries' }),
    ),
  })
  .strict();

export type CollectorState = z.infer<typeof collectorStateSchema>;
export type CounterState = CollectorState['counters'][number];
export type HistogramState = CollectorState['histograms'][number];

/**
 * The catalog's cumulative series out of one collection (the Prometheus reader's, which also holds the
 * histogram store's): what a restart must continue. Gauges are not kept (a last value from before the
 * restart says nothing), nor the collector's own health metrics.
 */
export function snapshotState(resourceMetrics: ResourceMetrics, now: Date = new Date()): CollectorState {
  const state: CollectorState = { version: 1, savedAt: now.toISOString(), counters: [], histograms: [] };
  for (const scope of resourceMetrics.scopeMetrics) {
    if (scope.scope.name !== CATALOG_METER) continue;
    for (const metric of scope.metrics) {
      const name = metric.descriptor.name;
      if (metric.dataPointType === DataPointType.SUM && metric.isMonotonic) {
        for (const point of metric.dataPoints) {
          state.counters.push({ name, labels: stringLabels(point.attributes), value: point.value });
        }
      } else if (metric.dataPointType === DataPointType.HISTOGRAM) {
        for (const point of metric.dataPoints) {
          const { buckets, sum, count } = point.value;
          state.histograms.push({
            name,
            labels: stringLabels(point.attributes),
            boundaries: [...buckets.boundaries],
            counts: [...buckets.counts],
            sum: sum ?? 0,
            count,
          });
        }
      }
    }
  }
  return state;
}

function stringLabels(attributes: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) out[key] = String(value);
  return out;
}
