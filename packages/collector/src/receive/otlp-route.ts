import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Authenticator } from '../authorize/index.js';
import type { Codec } from '../decode/index.js';
import {
  authRefused,
  forbiddenOrigin,
  internalError,
  methodNotAllowed,
  overloaded,
  RequestError,
  unsupportedMediaType,
} from '../errors.js';
import type { Pipeline } from '../pipeline.js';
import type { SelfMetrics } from '../self-metrics.js';
import type { Admission, AdmissionRefusal } from './admission.js';
import type { ClientAddressOf } from './client-address.js';
import type { OriginPolicy } from './origin.js';
import { readBody } from './read-body.js';

export interface OtlpRouteSettings {
  readonly codecs: readonly Codec[];
  readonly pipeline: Pipeline;
  readonly selfMetrics: SelfMetrics;
  readonly maxBodyBytes: number;
  /** A body that stops arriving for this long is answered 408. */
  readonly bodyIdleTimeoutMs: number;
  readonly logger: Logger;
  readonly origins: OriginPolicy;
  readonly admission: Admission;
  readonly authenticator: Authenticator;
  /** Bearer senders aggregate many browsers: limits.bearerIncrementFactor. */
  readonly bearerIncrementFactor: number;
  /** The sender's address: the peer, or what a trusted proxy forwarded. */
  readonly clientAddress: ClientAddressOf;
  /** True once shutdown began: new requests are turned away, retryable, so a replica takes them. */
  readonly draining: () => boolean;
}

/** Settles only after the answer is written; never rejects. */
export type OtlpHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * The `/v1/metrics` handler. Every request walks the same fixed sequence: method → content type →
 * admission → authorize → body (size, encoding) → decode → pipeline → response in the request's
 * encoding. It takes plain node:http objects, so the server can call it before express's router: this
 * is the hot path.
 */
export function createOtlpHandler(settings: OtlpRouteSettings): OtlpHandler {
  const { pipeline, selfMetrics, maxBodyBytes, bodyIdleTimeoutMs, logger, origins, admission, authenticator, clientAddress, draining } = settings;
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
    if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
    if (error.challenge !== undefined) res.setHeader('WWW-Authenticate', error.challenge);
    if (error.closeConnection) res.setHeader('Connection', 'close');
    // Refused before the body was read to the end: discard the rest so the client can finish its
    // upload and read this answer (closing now would reset the connection under it, and OTLP
    // exporters retry a reset, but not a 413). requestTimeout bounds how long that can take.
    if (!req.complete) req.resume();
    answer(res, error.status, encoder.contentType, encoder.encodeStatus(error.rpcCode, error.message));
  }

  const shed = (refusal: AdmissionRefusal): RequestError => overloaded(refusal.status, refusal.reason, refusal.message, refusal.retryAfterSeconds);

  /**
   * The fixed sequence, cheapest check first, and nothing that costs (a Grafana call, the body) before
   * the checks that cost nothing: origin → method → content type → shutting down → admission (heap,
   * in flight) → what authorize can tell without a call → the main or the client address's rate budget
   * → authorize → the sender's requests in flight → body (idle timeout) → decode → pipeline → answer.
   */
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const contentType = req.headers['content-type'];
    const codec = byMediaType.get(mediaType(contentType));
    const origin = origins.check(req);
    if (!origin.allowed) return fail(req, res, codec, forbiddenOrigin(origin.origin));
    if (origin.corsOrigin !== undefined) {
      for (const [name, value] of Object.entries(origins.corsHeaders(origin.corsOrigin))) res.setHeader(name, value);
      if (req.method === 'OPTIONS') {
        res.writeHead(204, origins.preflightHeaders()).end();
        return;
      }
    }
    if (req.method !== 'POST') return fail(req, res, codec, methodNotAllowed(req.method ?? ''));
    if (!codec) return fail(req, res, undefined, unsupportedMediaType(contentType));
    if (draining()) {
      res.setHeader('Connection', 'close');
      return fail(req, res, codec, overloaded(503, 'shutting_down', 'the collector is shutting down: retry', 1));
    }
    const ticket = admission.admit();
    if (!ticket.admitted) return fail(req, res, codec, shed(ticket));
    try {
      const client = clientAddress(req);
      // Only a sender already known to be allowed draws on the budget signed-in users share; anyone
      // else (no or a refused credential, a cookie Grafana has yet to check) draws first on its
      // address's small one, so a flood of them is turned away before it costs a Grafana call.
      const settled = authenticator.peek(req, client);
      const budget = settled?.allowed ? ticket.takeMainToken() : ticket.takeAddressToken(client);
      if (budget) return fail(req, res, codec, shed(budget));
      const decision = settled ?? (await authenticator.authenticate(req, client));
      selfMetrics.authenticated(authenticator.mode, decision.outcome);
      if (!decision.allowed) {
        return fail(req, res, codec, authRefused(decision.status, decision.message, decision));
      }
      if (!settled) {
        // Let in after a call (Grafana vouched for the sender, or policy accepted it while Grafana
        // could not say): from here on it is one of the allowed senders, and spends their budget too.
        const main = ticket.takeMainToken();
        if (main) return fail(req, res, codec, shed(main));
      }
      if (decision.subject !== undefined) {
        const busy = ticket.enterSender(decision.subject);
        if (busy) return fail(req, res, codec, shed(busy));
      }
      const body = await readBody(req, maxBodyBytes, bodyIdleTimeoutMs);
      const started = process.hrtime.bigint();
      const request = codec.decodeRequest(body);
      selfMetrics.decoded(codec.encoding, Number(process.hrtime.bigint() - started) / 1e9);
      const result = pipeline.ingest(request, {
        verified: authenticator.verifiesIdentity ? decision : undefined,
        subject: decision.subject,
        incrementFactor: authenticator.mode === 'bearer' ? settings.bearerIncrementFactor : 1,
      });
      selfMetrics.request(200, result.rejectedDataPoints > 0 ? 'partial' : 'ok', codec.encoding);
      answer(res, 200, codec.contentType, codec.encodeResponse(result));
    } catch (err) {
      if (err instanceof RequestError) return fail(req, res, codec, err);
      // A bug, not bad input. The error comes from our code, so it carries no attribute value.
      logger.error({ err }, 'failed to handle an OTLP export request');
      fail(req, res, codec, internalError());
    } finally {
      ticket.release();
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
