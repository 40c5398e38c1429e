export { createHealth } from './health.js';
export type { Health } from './health.js';
export { createPrometheusExposition, EXPOSITION_CONTENT_TYPE } from './prometheus.js';
export type { PrometheusExposition } from './prometheus.js';
