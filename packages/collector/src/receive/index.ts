export { createOtlpHandler } from './otlp-route.js';
export type { OtlpHandler, OtlpRouteSettings } from './otlp-route.js';
export { readBody } from './read-body.js';
export { createAdmission } from './admission.js';
export type { Admission, AdmissionRefusal, AdmissionSettings, AdmissionTicket } from './admission.js';
export { createClientAddress } from './client-address.js';
export type { ClientAddressOf, ClientAddressSettings } from './client-address.js';
export { createOriginPolicy } from './origin.js';
export type { OriginPolicy, OriginSettings, OriginVerdict } from './origin.js';
