export { createAttributeLimiter, labelValue } from './attribute-limiter.js';
export type { AttributeLimiter, AttributeLimitSettings, Labels } from './attribute-limiter.js';
export { labelName } from './label-name.js';
export { createSenderBudget, UNLIMITED_BUDGET } from './sender-budget.js';
export type { SenderBudget, SenderBudgetSettings } from './sender-budget.js';
export {
  createSeriesRegistry,
  OVERFLOW_ATTRIBUTES,
  OVERFLOW_KEY_NAME,
  seriesKey,
  seriesRequest,
} from './series-registry.js';
export type { AdmittedSeries, SeriesRegistry, SeriesRegistrySettings, SeriesRequest } from './series-registry.js';
export { createTokenBucket } from './token-bucket.js';
export type { TokenBucket, TokenBucketSettings } from './token-bucket.js';
