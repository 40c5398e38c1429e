export { createForwardReader } from './forwarder.js';
export type { ForwardSettings } from './forwarder.js';
export { histogramDeltas } from './histogram-deltas.js';
