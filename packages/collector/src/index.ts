export { createCollector } from './collector.js';
export type { Collector, CollectorOptions } from './collector.js';
export { loadConfig, configSchema, ConfigError, CONFIG_ENV } from './config/index.js';
export type { CollectorConfig, CollectorConfigInput } from './config/index.js';
export { ABSOLUTE_TIME_RANGE, ATTR, ENGAGEMENT_STATES, METRIC_CATALOG, PANEL_SCOPE_NAME, PANEL_SERVICE_NAME } from './aggregate/index.js';
export type { CatalogMetric, InstrumentKind, LegacySeries } from './aggregate/index.js';
export { EXPOSITION_CONTENT_TYPE } from './expose/index.js';
export { PERSONAL_KEYS } from './privacy/index.js';
export { VERSION } from './version.js';
