export type { Codec, Encoding, ExportResult } from './codec.js';
export { createJsonCodec } from './json-codec.js';
export { createProtobufCodec, OTLP_METRICS_PROTO } from './protobuf-codec.js';
export { normalizeRequest } from './normalize.js';
export type {
  AttributeList,
  AttributeValue,
  GaugeMetric,
  HistogramMetric,
  HistogramPoint,
  Metric,
  MetricsRequest,
  NumberPoint,
  ResourceGroup,
  SumMetric,
  Temporality,
  UnsupportedMetric,
} from './model.js';
