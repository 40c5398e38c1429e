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

/** A producer whose collections are shared: see shareCollections. */
export interface SharedCollections extends MetricProducer {
  /** A collection begun now, never one shared from before (the final state save on shutdown). */
  collectFresh(): Promise<CollectionResult>;
}

/**
 * One collection for whoever asks while it is made or within `windowMs` after: a scrape and a state
 * save that meet, or an HA pair of scrapers, cost one walk over every series rather than one each.
 */
export function shareCollections(producer: MetricProducer, settings: { readonly windowMs: number; readonly now: () => number }): SharedCollections {
  let last: { result: Promise<CollectionResult>; finishedAt: number | undefined } | undefined;

  function collectFresh(): Promise<CollectionResult> {
    const entry: NonNullable<typeof last> = { result: producer.collect(), finishedAt: undefined };
    last = entry;
    entry.result.then(
      () => (entry.finishedAt = settings.now()),
      () => last === entry && (last = undefined),
    );
    return entry.result;
  }

  return {
    collect() {
      if (last && (last.finishedAt === undefined || settings.now() - last.finishedAt <= settings.windowMs)) return last.result;
      return collectFresh();
    },
    collectFresh,
  };
}
