export { createAttributeLimiter } from './attribute-limiter.js';
export type { AttributeLimiter, AttributeLimitSettings, Labels } from './attribute-limiter.js';
export { labelName } from './label-name.js';
export { createSeriesCap, OVERFLOW_LABELS, seriesKey } from './series-cap.js';
export type { AdmittedSeries, SeriesCap } from './series-cap.js';
