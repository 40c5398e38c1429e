import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Authenticator } from '../authorize/index.js';
import type { ExportResult, MetricsRequest } from '../decode/index.js';
import { authRefused, forbiddenOrigin, internalError, methodNotAllowed, overloaded, RequestError } from '../errors.js';
import type { Pipeline, Sender } from '../pipeline.js';
import type { RequestEncoding, SelfMetrics } from '../self-metrics.js';
import type { Admission, AdmissionRefusal } from './admission.js';
import type { ClientAddressOf } from './client-address.js';
import type { OriginPolicy } from './origin.js';
import { readBody } from './read-body.js';

/** What every ingest route shares: the stages a request crosses before and after its body is decoded. */
export interface IngestRouteSettings {
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

/** A status, an optional Content-Type and a body: how a route answers. */
export interface IngestAnswer {
  readonly status: number;
  readonly contentType?: string;
  readonly body: Buffer;
}

/** One wire format a route takes: how its bodies become points and how its requests are answered. */
export interface IngestFormat {
  /** The `encoding` label of footfall_collector_requests_total and of the decode-time histogram. */
  readonly label: RequestEncoding;
  /** The points a body carries; throws a 400 RequestError when the body is not a request of this format. */
  decode(body: Buffer, sender: Sender): MetricsRequest;
  /** The answer to a request the pipeline took (some of its points may have been refused). */
  accepted(result: ExportResult): IngestAnswer;
  /**
   * The pipeline refused a decoded request as a whole (a retryable 503: nothing of it was recorded):
   * undo what decoding it kept, so a retry, or the next payload, finds things as they were.
   */
  discarded?(request: MetricsRequest): void;
  /** The answer to a refused request. */
  refused(error: RequestError): IngestAnswer;
}

/** What sets one ingest route apart from another: OTLP's encodings, or the old panel's payloads. */
export interface IngestProtocol {
  /** The format a Content-Type names; a RequestError (415) for one the route does not take. */
  formatOf(contentType: string | undefined): IngestFormat | RequestError;
  /** Answers a request refused before its format is known, and labels it `unknownLabel`. */
  readonly fallback: IngestFormat;
  readonly unknownLabel: RequestEncoding;
  /** What one request is, for log lines: "an OTLP export request". */
  readonly what: string;
}

/** Settles only after the answer is written; never rejects. */
export type IngestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * An ingest route's handler (`/v1/metrics`, the old panel's `/write`). Every request walks the same
 * fixed sequence whatever its protocol: method → content type → admission → authorize → body (size,
 * encoding) → decode → pipeline → answer in the protocol's terms. It takes plain node:http objects, so
 * the server can call it before express's router: this is the hot path.
 */
export function createIngestHandler(settings: IngestRouteSettings, protocol: IngestProtocol): IngestHandler {
  const {
    pipeline,
    selfMetrics,
    maxBodyBytes,
    bodyIdleTimeoutMs,
    logger,
    origins,
    admission,
    authenticator,
    clientAddress,
    draining,
  } = settings;

  function answer(res: ServerResponse, reply: IngestAnswer): void {
    res.writeHead(reply.status, {
      ...(reply.contentType === undefined ? {} : { 'Content-Type': reply.contentType }),
      'Content-Length': reply.body.length,
    });
    res.end(reply.body);
  }

  function fail(
    req: IncomingMessage,
    res: ServerResponse,
    format: IngestFormat | undefined,
    error: RequestError
  ): void {
    selfMetrics.request(error.status, error.reason, format?.label ?? protocol.unknownLabel);
    if (error.status === 405) {
      res.setHeader('Allow', 'POST');
    }
    if (error.retryAfterSeconds !== undefined) {
      res.setHeader('Retry-After', String(error.retryAfterSeconds));
    }
    if (error.challenge !== undefined) {
      res.setHeader('WWW-Authenticate', error.challenge);
    }
    if (error.closeConnection) {
      res.setHeader('Connection', 'close');
    }
    // Refused before the body was read to the end: discard the rest so the client can finish its
    // upload and read this answer (closing now would reset the connection under it, and OTLP
    // exporters retry a reset, but not a 413). requestTimeout bounds how long that can take.
    if (!req.complete) {
      req.resume();
    }
    answer(res, (format ?? protocol.fallback).refused(error));
  }

  const shed = (refusal: AdmissionRefusal): RequestError =>
    overloaded(refusal.status, refusal.reason, refusal.message, refusal.retryAfterSeconds);

  /**
   * The fixed sequence, cheapest check first, and nothing that costs (a Grafana call, the body) before
   * the checks that cost nothing: origin → method → content type → shutting down → admission (heap,
   * in flight) → what authorize can tell without a call → the main or the client address's rate budget
   * → authorize → the sender's requests in flight → body (idle timeout) → decode → pipeline → answer.
   */
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const contentType = req.headers['content-type'];
    const named = protocol.formatOf(contentType);
    const format = named instanceof RequestError ? undefined : named;
    const origin = origins.check(req);
    if (!origin.allowed) {
      return fail(req, res, format, forbiddenOrigin(origin.origin));
    }
    if (origin.corsOrigin !== undefined) {
      for (const [name, value] of Object.entries(origins.corsHeaders(origin.corsOrigin))) {
        res.setHeader(name, value);
      }
      if (req.method === 'OPTIONS') {
        res.writeHead(204, origins.preflightHeaders()).end();
        return;
      }
    }
    if (req.method !== 'POST') {
      return fail(req, res, format, methodNotAllowed(req.method ?? ''));
    }
    if (!format) {
      return fail(req, res, undefined, named as RequestError);
    }
    if (draining()) {
      res.setHeader('Connection', 'close');
      return fail(req, res, format, overloaded(503, 'shutting_down', 'the collector is shutting down: retry', 1));
    }
    const ticket = admission.admit();
    if (!ticket.admitted) {
      return fail(req, res, format, shed(ticket));
    }
    try {
      const client = clientAddress(req);
      // Only a sender already known to be allowed draws on the budget signed-in users share; anyone
      // else (no or a refused credential, a cookie Grafana has yet to check) draws first on its
      // address's small one, so a flood of them is turned away before it costs a Grafana call.
      const settled = authenticator.peek(req, client);
      const budget = settled?.allowed ? ticket.takeMainToken() : ticket.takeAddressToken(client);
      if (budget) {
        return fail(req, res, format, shed(budget));
      }
      const decision = settled ?? (await authenticator.authenticate(req, client));
      selfMetrics.authenticated(authenticator.mode, decision.outcome);
      if (!decision.allowed) {
        return fail(req, res, format, authRefused(decision.status, decision.message, decision));
      }
      if (!settled) {
        // Let in after a call (Grafana vouched for the sender, or policy accepted it while Grafana
        // could not say): from here on it is one of the allowed senders, and spends their budget too.
        const main = ticket.takeMainToken();
        if (main) {
          return fail(req, res, format, shed(main));
        }
      }
      if (decision.subject !== undefined) {
        const busy = ticket.enterSender(decision.subject);
        if (busy) {
          return fail(req, res, format, shed(busy));
        }
      }
      const body = await readBody(req, maxBodyBytes, bodyIdleTimeoutMs);
      const sender: Sender = {
        verified: authenticator.verifiesIdentity ? decision : undefined,
        subject: decision.subject,
        incrementFactor: authenticator.mode === 'bearer' ? settings.bearerIncrementFactor : 1,
      };
      const started = process.hrtime.bigint();
      const request = format.decode(body, sender);
      selfMetrics.decoded(format.label, Number(process.hrtime.bigint() - started) / 1e9);
      let result: ExportResult;
      try {
        result = pipeline.ingest(request, sender);
      } catch (err) {
        format.discarded?.(request);
        throw err;
      }
      const reply = format.accepted(result);
      selfMetrics.request(reply.status, result.rejectedDataPoints > 0 ? 'partial' : 'ok', format.label);
      answer(res, reply);
    } catch (err) {
      if (err instanceof RequestError) {
        return fail(req, res, format, err);
      }
      // A bug, not bad input. The error comes from our code, so it carries no attribute value.
      logger.error({ err }, `failed to handle ${protocol.what}`);
      fail(req, res, format, internalError());
    } finally {
      ticket.release();
    }
  }

  return (req, res) =>
    handle(req, res).catch((err: unknown) => {
      // Even answering failed: drop the connection rather than let a rejection end the process.
      logger.error({ err }, `failed to answer ${protocol.what}`);
      res.destroy();
    });
}
