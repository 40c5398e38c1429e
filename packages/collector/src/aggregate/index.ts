export { createAggregator } from './aggregator.js';
export type { Aggregator, AggregatorSettings, Route } from './aggregator.js';
export {
  ABSOLUTE_TIME_RANGE,
  ATTR,
  ENGAGEMENT_STATES,
  METRIC_CATALOG,
  PANEL_SCOPE_NAME,
  PANEL_SERVICE_NAME,
} from './catalog.js';
export type { CatalogMetric, InstrumentKind, LegacySeries } from './catalog.js';
export { computeBucketMap, createHistogramStore } from './histogram-store.js';
export type { HistogramStore } from './histogram-store.js';
export { CATALOG_METER, createCollectorMeterProvider } from './meter-provider.js';
export type { MeterProviderSettings } from './meter-provider.js';
export { refusal } from './refusal.js';
export type { Refusal } from './refusal.js';
export { collectorStateSchema, snapshotState } from './state.js';
export type { CollectorState, CounterState, HistogramState } from './state.js';
export { createStateFile } from './state-file.js';
export type { StateFile } from './state-file.js';
