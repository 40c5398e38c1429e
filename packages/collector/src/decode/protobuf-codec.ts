import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { malformedBody } from '../errors.js';
import type { Codec, ExportResult } from './codec.js';
import { normalizeRequest } from './normalize.js';

/**
 * The metrics-only schema written for footfall from the OTLP spec (see the file's header). Resolved from
 * the module's path, not with `new URL(…, import.meta.url)`, which Vite rewrites in DOM test environments.
 */
export const OTLP_METRICS_PROTO = resolve(dirname(fileURLToPath(import.meta.url)), '../../proto/otlp-metrics.proto');

export function createProtobufCodec(): Codec {
  const root = protobuf.loadSync(OTLP_METRICS_PROTO);
  const Request = root.lookupType('footfall.otlp.ExportMetricsServiceRequest');
  const Response = root.lookupType('footfall.otlp.ExportMetricsServiceResponse');
  const Status = root.lookupType('footfall.otlp.Status');
  const emptyResponse = Buffer.alloc(0);

  return {
    encoding: 'protobuf',
    contentType: 'application/x-protobuf',
    decodeRequest(body) {
      let message: protobuf.Message;
      try {
        message = Request.decode(body);
      } catch (err) {
        throw malformedBody(`invalid protobuf: ${(err as Error).message}`);
      }
      // Decoded messages already have the proto3 JSON field names; see normalizeRequest.
      return normalizeRequest(message);
    },
    encodeResponse(result: ExportResult) {
      if (result.rejectedDataPoints === 0) {
        return emptyResponse;
      }
      const message = Response.fromObject({
        partialSuccess: { rejectedDataPoints: result.rejectedDataPoints, errorMessage: result.errorMessage },
      });
      return Buffer.from(Response.encode(message).finish());
    },
    encodeStatus(code, message) {
      return Buffer.from(Status.encode(Status.fromObject({ code, message })).finish());
    },
  };
}
