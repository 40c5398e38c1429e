import type { MetricReader, ViewOptions } from '@opentelemetry/sdk-metrics';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { CatalogMetric } from './catalog.js';

export const CATALOG_METER = 'footfall';

export interface MeterProviderSettings {
  readonly catalog: readonly CatalogMetric[];
  readonly readers: MetricReader[];
  readonly maxSeriesPerMetric: number;
  readonly serviceVersion: string;
}

/**
 * The collector's one MeterProvider. Each catalog instrument gets a View whose cardinality limit sits
 * above the collector's own lifetime series cap (cap + its overflow series + one spare), so the SDK
 * never folds series on its own: a View without a limit would silently fall back to the SDK's 2000.
 */
export function createCollectorMeterProvider(settings: MeterProviderSettings): MeterProvider {
  const limit = settings.maxSeriesPerMetric + 2;
  const views: ViewOptions[] = [];
  for (const metric of settings.catalog) {
    if (metric.kind === 'histogram') continue; // exported by the histogram store, not the SDK
    for (const name of [metric.prometheus, metric.legacy?.prometheus]) {
      if (name) views.push({ meterName: CATALOG_METER, instrumentName: name, aggregationCardinalityLimit: limit });
    }
  }
  return new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': 'footfall-collector',
      'service.version': settings.serviceVersion,
    }),
    views,
    readers: settings.readers,
  });
}
