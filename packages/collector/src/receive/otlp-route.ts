import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Codec } from '../decode/index.js';
import { internalError, methodNotAllowed, RequestError, unsupportedMediaType } from '../errors.js';
import type { Pipeline } from '../pipeline.js';
import type { SelfMetrics } from '../self-metrics.js';
import { readBody } from './read-body.js';

export interface OtlpRouteSettings {
  readonly codecs: readonly Codec[];
  readonly pipeline: Pipeline;
  readonly selfMetrics: SelfMetrics;
  readonly maxBodyBytes: number;
  readonly logger: Logger;
}

/** Settles only after the answer is written; never rejects. */
export type OtlpHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * The `/v1/metrics` handler. Every request walks the same fixed sequence: method → content type →
 * body (size, encoding) → decode → pipeline → response in the request's encoding. It takes plain
 * node:http objects, so the server can call it before express's router: this is the hot path.
 */
export function createOtlpHandler(settings: OtlpRouteSettings): OtlpHandler {
  const { pipeline, selfMetrics, maxBodyBytes, logger } = settings;
  const byMediaType = new Map(settings.codecs.map((c) => [c.contentType, c]));
  const fallback = settings.codecs.find((c) => c.encoding === 'json') ?? settings.codecs[0]!;

  function answer(res: ServerResponse, status: number, contentType: string, body: Buffer): void {
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': body.length });
    res.end(body);
  }

  function fail(req: IncomingMessage, res: ServerResponse, codec: Codec | undefined, error: RequestError): void {
    const encoder = codec ?? fallback;
    selfMetrics.request(error.status, error.reason, codec?.encoding ?? 'unknown');
    if (error.status === 405) res.setHeader('Allow', 'POST');
    // Refused before the body was read to the end: discard the rest so the client can finish its
    // upload and read this answer (closing now would reset the connection under it, and OTLP
    // exporters retry a reset, but not a 413). requestTimeout bounds how long that can take.
    if (!req.complete) req.resume();
    answer(res, error.status, encoder.contentType, encoder.encodeStatus(error.rpcCode, error.message));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const contentType = req.headers['content-type'];
    const codec = byMediaType.get(mediaType(contentType));
    if (req.method !== 'POST') return fail(req, res, codec, methodNotAllowed(req.method ?? ''));
    if (!codec) return fail(req, res, undefined, unsupportedMediaType(contentType));
    try {
      const body = await readBody(req, maxBodyBytes);
      const started = process.hrtime.bigint();
      const request = codec.decodeRequest(body);
      selfMetrics.decoded(codec.encoding, Number(process.hrtime.bigint() - started) / 1e9);
      const result = pipeline.ingest(request);
      selfMetrics.request(200, result.rejectedDataPoints > 0 ? 'partial' : 'ok', codec.encoding);
      answer(res, 200, codec.contentType, codec.encodeResponse(result));
    } catch (err) {
      if (err instanceof RequestError) return fail(req, res, codec, err);
      // A bug, not bad input. The error comes from our code, so it carries no attribute value.
      logger.error({ err }, 'failed to handle an OTLP export request');
      fail(req, res, codec, internalError());
    }
  }

  return (req, res) =>
    handle(req, res).catch((err: unknown) => {
      // Even answering failed: drop the connection rather than let a rejection end the process.
      logger.error({ err }, 'failed to answer an OTLP export request');
      res.destroy();
    });
}

function mediaType(header: string | undefined): string {
  if (!header) return '';
  const semicolon = header.indexOf(';');
  return (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
}
