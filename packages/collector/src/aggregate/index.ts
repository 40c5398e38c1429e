export { catalogFeeds, counterFamilies, createAggregator } from './aggregator.js';
export type { Aggregator, AggregatorSettings, PointSender, Route } from './aggregator.js';
export {
  ABSOLUTE_TIME_RANGE,
  ATTR,
  DEFAULT_LEGACY_LABELS,
  ENGAGEMENT_STATES,
  LEGACY_LABELS,
  MAX_POINT_WINDOW_SECONDS,
  METRIC_CATALOG,
  PANEL_SCOPE_NAME,
  PANEL_SERVICE_NAME,
  readAttributes,
} from './catalog.js';
export type { CatalogMetric, DerivedSeries, IncrementBound, InstrumentKind } from './catalog.js';
export { combineProducers, shareCollections } from './catalog-data.js';
export type { SharedCollections } from './catalog-data.js';
export { CATALOG_METER, createCounterStore } from './counter-store.js';
export type { CounterFamily, CounterStore, CounterStoreSettings } from './counter-store.js';
export { expireIdleSeries } from './expiry.js';
export { computeBucketMap, createHistogramStore } from './histogram-store.js';
export type { HistogramStore } from './histogram-store.js';
export { refusal } from './refusal.js';
export type { Refusal } from './refusal.js';
export { parseState, serializeState, serializeStateChunks, snapshotState } from './state.js';
export type { CollectorState, CounterState, HistogramState, ParsedState } from './state.js';
export { createStateFile } from './state-file.js';
export type { StateFile } from './state-file.js';
