import type { MetricsRequest } from './model.js';

export type Encoding = 'json' | 'protobuf';

/** What a 200 answer says: nothing, or how many points were refused and why. */
export interface ExportResult {
  readonly rejectedDataPoints: number;
  readonly errorMessage: string;
}

/**
 * One OTLP/HTTP encoding: decodes requests and encodes the answers in the same encoding, as the
 * OTLP/HTTP spec asks (the response uses the request's Content-Type).
 */
export interface Codec {
  readonly encoding: Encoding;
  readonly contentType: string;
  /** Throws a 400 RequestError when the body cannot be decoded. */
  decodeRequest(body: Buffer): MetricsRequest;
  /** An ExportMetricsServiceResponse; `partialSuccess` only when points were refused. */
  encodeResponse(result: ExportResult): Buffer;
  /** A google.rpc.Status, the body of every OTLP/HTTP error answer. */
  encodeStatus(code: number, message: string): Buffer;
}
