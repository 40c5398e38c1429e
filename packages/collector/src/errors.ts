/**
 * The few errors a request can end in. Each carries its HTTP status, the google.rpc code that goes in
 * the OTLP error body, whether a client may retry (OTLP/HTTP: only 429, 502, 503 and 504 are
 * retryable), and a short reason used as a self-metric label. Anything else thrown while handling a
 * request is a bug and becomes a 500.
 */
export type RejectionReason =
  | 'method_not_allowed'
  | 'unsupported_media_type'
  | 'unsupported_encoding'
  | 'payload_too_large'
  | 'malformed_body'
  | 'internal_error';

/** google.rpc.Code values used in Status bodies. */
const RpcCode = {
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
} as const;

export class RequestError extends Error {
  readonly status: number;
  readonly rpcCode: number;
  readonly reason: RejectionReason;
  readonly retryable: boolean;

  constructor(status: number, rpcCode: number, reason: RejectionReason, message: string) {
    super(message);
    this.name = 'RequestError';
    this.status = status;
    this.rpcCode = rpcCode;
    this.reason = reason;
    this.retryable = status === 429 || status === 502 || status === 503 || status === 504;
  }
}

export function methodNotAllowed(method: string): RequestError {
  return new RequestError(405, RpcCode.UNIMPLEMENTED, 'method_not_allowed', `method ${method} is not allowed; use POST`);
}

export function unsupportedMediaType(contentType: string | undefined): RequestError {
  return new RequestError(
    415,
    RpcCode.INVALID_ARGUMENT,
    'unsupported_media_type',
    `unsupported content type ${JSON.stringify(contentType ?? '')}; use application/json or application/x-protobuf`,
  );
}

export function unsupportedEncoding(encoding: string): RequestError {
  return new RequestError(
    415,
    RpcCode.INVALID_ARGUMENT,
    'unsupported_encoding',
    `unsupported content encoding ${JSON.stringify(encoding)}; use gzip, deflate or none`,
  );
}

export function payloadTooLarge(limitBytes: number): RequestError {
  return new RequestError(
    413,
    RpcCode.RESOURCE_EXHAUSTED,
    'payload_too_large',
    `request body exceeds ${limitBytes} bytes after decompression`,
  );
}

export function malformedBody(message: string): RequestError {
  return new RequestError(400, RpcCode.INVALID_ARGUMENT, 'malformed_body', message);
}

export function internalError(): RequestError {
  return new RequestError(500, RpcCode.INTERNAL, 'internal_error', 'internal error');
}
