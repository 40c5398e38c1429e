export { createCollector } from './collector.js';
export type { Collector, CollectorOptions } from './collector.js';
export { loadConfig, configSchema, ConfigError, CONFIG_ENV } from './config/index.js';
export type { CollectorConfig, CollectorConfigInput } from './config/index.js';
export {
  ABSOLUTE_TIME_RANGE,
  ATTR,
  DEFAULT_LEGACY_LABELS,
  ENGAGEMENT_STATES,
  LEGACY_LABELS,
  METRIC_CATALOG,
  PANEL_SCOPE_NAME,
  PANEL_SERVICE_NAME,
  readAttributes,
} from './aggregate/index.js';
export type { CatalogMetric, DerivedSeries, IncrementBound, InstrumentKind } from './aggregate/index.js';
export type { Sender } from './pipeline.js';
export { EXPOSITION_CONTENT_TYPE } from './expose/index.js';
export { PERSONAL_KEYS } from './privacy/index.js';
export { VERSION } from './version.js';
