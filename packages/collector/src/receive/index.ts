export { createOtlpHandler } from './otlp-route.js';
export type { OtlpHandler, OtlpRouteSettings } from './otlp-route.js';
export { readBody } from './read-body.js';
