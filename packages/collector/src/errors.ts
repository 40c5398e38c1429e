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
  | 'forbidden_origin'
  | 'auth_refused'
  | 'auth_unavailable'
  | 'rate_limited'
  | 'address_rate_limited'
  | 'too_many_in_flight'
  | 'sender_too_many_in_flight'
  | 'memory_pressure'
  | 'shutting_down'
  | 'body_idle_timeout'
  | 'inventory_pending'
  | 'internal_error';

/** google.rpc.Code values used in Status bodies. */
const RpcCode = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export class RequestError extends Error {
  readonly status: number;
  readonly rpcCode: number;
  readonly reason: RejectionReason;
  readonly retryable: boolean;
  /** Retry-After, for the retryable answers. */
  readonly retryAfterSeconds: number | undefined;
  /** WWW-Authenticate, for a 401 of an auth mode with a scheme. */
  readonly challenge: string | undefined;
  /** Answer with Connection: close: the connection is of no further use (its client stopped sending). */
  readonly closeConnection: boolean;

  constructor(
    status: number,
    rpcCode: number,
    reason: RejectionReason,
    message: string,
    extra: { retryAfterSeconds?: number | undefined; challenge?: string | undefined; closeConnection?: boolean } = {}
  ) {
    super(message);
    this.name = 'RequestError';
    this.status = status;
    this.rpcCode = rpcCode;
    this.reason = reason;
    this.retryable = status === 429 || status === 502 || status === 503 || status === 504;
    this.retryAfterSeconds = extra.retryAfterSeconds;
    this.challenge = extra.challenge;
    this.closeConnection = extra.closeConnection ?? false;
  }
}

export function forbiddenOrigin(origin: string): RequestError {
  return new RequestError(
    403,
    RpcCode.PERMISSION_DENIED,
    'forbidden_origin',
    `origin ${JSON.stringify(origin)} may not send here; add Grafana's root URL to server.allowedOrigins (behind a TLS proxy, have it set X-Forwarded-Proto)`
  );
}

/** The authorize stage said no: 401 (credentials), 403 (sender not allowed) or 503 (cannot check now). */
export function authRefused(
  status: 401 | 403 | 503,
  message: string,
  extra: { retryAfterSeconds?: number | undefined; challenge?: string | undefined }
): RequestError {
  if (status === 503) {
    return new RequestError(503, RpcCode.UNAVAILABLE, 'auth_unavailable', message, extra);
  }
  return new RequestError(
    status,
    status === 401 ? RpcCode.UNAUTHENTICATED : RpcCode.PERMISSION_DENIED,
    'auth_refused',
    message,
    extra
  );
}

/** Admission control shed the request before its body was read. */
export function overloaded(
  status: 429 | 503,
  reason:
    | 'rate_limited'
    | 'address_rate_limited'
    | 'too_many_in_flight'
    | 'sender_too_many_in_flight'
    | 'memory_pressure'
    | 'shutting_down',
  message: string,
  retryAfterSeconds: number
): RequestError {
  return new RequestError(status, status === 429 ? RpcCode.RESOURCE_EXHAUSTED : RpcCode.UNAVAILABLE, reason, message, {
    retryAfterSeconds,
  });
}

/** A uid of the request is not in the inventory yet: retry once Grafana's dashboards are listed again. */
export function inventoryPending(retryAfterSeconds: number): RequestError {
  return new RequestError(
    503,
    RpcCode.UNAVAILABLE,
    'inventory_pending',
    'a dashboard of this request is not in the inventory yet; it is being listed again: retry',
    { retryAfterSeconds }
  );
}

export function methodNotAllowed(method: string): RequestError {
  return new RequestError(
    405,
    RpcCode.UNIMPLEMENTED,
    'method_not_allowed',
    `method ${method} is not allowed; use POST`
  );
}

/** `accepted` says what the route takes instead, e.g. "application/json or application/x-protobuf". */
export function unsupportedMediaType(contentType: string | undefined, accepted: string): RequestError {
  return new RequestError(
    415,
    RpcCode.INVALID_ARGUMENT,
    'unsupported_media_type',
    `unsupported content type ${JSON.stringify(contentType ?? '')}; use ${accepted}`
  );
}

export function unsupportedEncoding(encoding: string): RequestError {
  return new RequestError(
    415,
    RpcCode.INVALID_ARGUMENT,
    'unsupported_encoding',
    `unsupported content encoding ${JSON.stringify(encoding)}; use gzip, deflate or none`
  );
}

export function payloadTooLarge(limitBytes: number): RequestError {
  return new RequestError(
    413,
    RpcCode.RESOURCE_EXHAUSTED,
    'payload_too_large',
    `request body exceeds ${limitBytes} bytes after decompression`
  );
}

/**
 * The body stopped arriving for server.bodyIdleTimeoutMs. 408 with Connection: close, as Node's own
 * requestTimeout and nginx's client_body_timeout answer: the client is too slow, not the collector
 * busy. The panel retries it (it drops only 400, 413, 415 and 422); stock OTLP exporters, which retry
 * only 429/502/503/504, drop the batch, which a client whose upload went silent for seconds has
 * usually lost to its network already.
 */
export function bodyIdleTimeout(idleMs: number): RequestError {
  return new RequestError(
    408,
    RpcCode.DEADLINE_EXCEEDED,
    'body_idle_timeout',
    `no body bytes for ${idleMs} ms: the request was closed`,
    {
      closeConnection: true,
    }
  );
}

export function malformedBody(message: string): RequestError {
  return new RequestError(400, RpcCode.INVALID_ARGUMENT, 'malformed_body', message);
}

export function internalError(): RequestError {
  return new RequestError(500, RpcCode.INTERNAL, 'internal_error', 'internal error');
}
