export { cumulativeToDelta } from './cumulative-to-delta.js';
export type { ForwardLoss, ForwardReport, ForwardResult } from './forward-exporter.js';
export { createForwarder } from './forwarder.js';
export type { Forwarder, ForwardSettings } from './forwarder.js';
