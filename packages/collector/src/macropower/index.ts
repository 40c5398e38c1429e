export { createLegacyWriteHandler, createWriteHandler, createWriteProtocol } from './write-route.js';
export type { LegacyWriteConfig, WriteRouteSettings } from './write-route.js';
export { createWriteSessions } from './write-sessions.js';
export type { SessionOutcome, WriteEvent, WriteSessions, WriteSessionsSettings } from './write-sessions.js';
export { readPayload } from './payload.js';
export type { WritePayload } from './payload.js';
