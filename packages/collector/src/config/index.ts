export { CONFIG_ENV, ConfigError, loadConfig } from './load.js';
export type { ConfigSources } from './load.js';
export { configSchema, listenAddress } from './schema.js';
export type { CollectorConfig, CollectorConfigInput } from './schema.js';
