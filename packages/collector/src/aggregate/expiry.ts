import type { Attributes } from '@opentelemetry/api';
import type { SeriesRegistry } from '../limits/index.js';
import type { CounterStore } from './counter-store.js';
import type { HistogramStore } from './histogram-store.js';

/**
 * Forgets the series idle past the registry's expiry: the registry first (their places under the cap
 * are free at once), then their values in the histogram store and the SDK's counters. Resolves with how
 * many were forgotten.
 */
export async function expireIdleSeries(
  registry: SeriesRegistry,
  stores: { readonly histograms: HistogramStore; readonly counters: CounterStore },
  now: number
): Promise<number> {
  const expired = registry.expire(now);
  if (expired === 0) {
    return 0;
  }
  const keep = (family: string, attributes: Attributes) => registry.lastUpdated(family, attributes) !== undefined;
  stores.histograms.retain(keep);
  await stores.counters.retain(keep);
  return expired;
}
