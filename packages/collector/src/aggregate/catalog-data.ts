import type { CollectionResult, MetricProducer } from '@opentelemetry/sdk-metrics';
import { shareInFlight } from '../share-in-flight.js';

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

/** A producer whose collections are shared: see shareCollections. */
export interface SharedCollections extends MetricProducer {
  /** A collection begun now, never one already under way (the final state save on shutdown). */
  collectFresh(): Promise<CollectionResult>;
}

/**
 * One collection for whoever asks while it is made: a scrape and a state save that meet cost one walk
 * over every series rather than two. Not kept once made: whoever asks after must see what came since.
 */
export function shareCollections(producer: MetricProducer): SharedCollections {
  const collections = shareInFlight(() => producer.collect());
  return { collect: collections.get, collectFresh: collections.fresh };
}
