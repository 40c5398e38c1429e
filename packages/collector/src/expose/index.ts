export { createHealth } from './health.js';
export type { Health } from './health.js';
export { acceptsGzip, createPrometheusExposition, EXPOSITION_CONTENT_TYPE } from './prometheus.js';
export type { PrometheusExposition } from './prometheus.js';
export { createTextFormatRenderer, SLICE_POINTS } from './text-format.js';
export type { TextFormatRenderer } from './text-format.js';
