export { cumulativeToDelta } from './cumulative-to-delta.js';
export { createForwarder } from './forwarder.js';
export type { Forwarder, ForwardSettings } from './forwarder.js';
