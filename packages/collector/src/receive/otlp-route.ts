import type { Codec } from '../decode/index.js';
import { unsupportedMediaType } from '../errors.js';
import {
  createIngestHandler,
  type IngestFormat,
  type IngestHandler,
  type IngestProtocol,
  type IngestRouteSettings,
} from './ingest-route.js';
import { mediaType } from './media-type.js';

export interface OtlpRouteSettings extends IngestRouteSettings {
  readonly codecs: readonly Codec[];
}

export type OtlpHandler = IngestHandler;

/** An OTLP/HTTP encoding as a route format: 200 with an ExportMetricsServiceResponse, errors as a google.rpc.Status, both in the request's encoding. */
function otlpFormat(codec: Codec, label: IngestFormat['label'] = codec.encoding): IngestFormat {
  return {
    label,
    decode: (body) => codec.decodeRequest(body),
    accepted: (result) => ({ status: 200, contentType: codec.contentType, body: codec.encodeResponse(result) }),
    refused: (error) => ({
      status: error.status,
      contentType: codec.contentType,
      body: codec.encodeStatus(error.rpcCode, error.message),
    }),
  };
}

/** OTLP/HTTP's content types, each answered in its own encoding; a request in none of them is answered in JSON. */
export function createOtlpProtocol(codecs: readonly Codec[]): IngestProtocol {
  const byMediaType = new Map(codecs.map((c) => [c.contentType, otlpFormat(c)]));
  const json = codecs.find((c) => c.encoding === 'json') ?? codecs[0]!;
  const accepted = codecs.map((c) => c.contentType).join(' or ');
  return {
    formatOf: (contentType) => byMediaType.get(mediaType(contentType)) ?? unsupportedMediaType(contentType, accepted),
    fallback: otlpFormat(json, 'unknown'),
    unknownLabel: 'unknown',
    what: 'an OTLP export request',
  };
}

/** The `/v1/metrics` handler: the ingest sequence with OTLP/HTTP's encodings. */
export function createOtlpHandler(settings: OtlpRouteSettings): OtlpHandler {
  return createIngestHandler(settings, createOtlpProtocol(settings.codecs));
}
