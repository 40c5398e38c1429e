import type { CollectionResult, MetricProducer } from '@opentelemetry/sdk-metrics';

/**
 * The catalog's data as one MetricProducer: the SDK's counters and the histogram store, collected
 * together. Readers (the Prometheus exposition, the forward stage, the state file) put producer data
 * under their own resource.
 */
export function combineProducers(producers: readonly MetricProducer[]): MetricProducer {
  return {
    async collect(options): Promise<CollectionResult> {
      const results = await Promise.all(producers.map((p) => p.collect(options)));
      return {
        resourceMetrics: {
          resource: results[0]!.resourceMetrics.resource,
          scopeMetrics: results.flatMap((r) => r.resourceMetrics.scopeMetrics),
        },
        errors: results.flatMap((r) => r.errors),
      };
    },
  };
}
