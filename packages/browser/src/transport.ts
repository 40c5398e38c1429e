/**
 * One POST per export, no retries of its own: the outbox owns what was not delivered, so a retry here
 * would risk sending the same counts twice. Small bodies go with `keepalive`, so an export started
 * while the tab closes is still delivered. The SDK's fetch transport retries internally and hides
 * `Retry-After` from its caller, which is why the panel brings this one.
 */
import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';

/** Browsers share a 64 KiB budget for keepalive bodies per page; stay well under it. */
export const KEEPALIVE_MAX_BYTES = 60_000;
/** Browsers refuse more than 9 keepalive requests in flight (Chromium, Faro's measurement). */
const KEEPALIVE_MAX_REQUESTS = 9;

/** Why an export failed, and whether sending the same points again can succeed. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when no response arrived. */
    readonly status: number,
    /** False for answers that will not change on retry (bad request, payload too large). */
    readonly retryable: boolean,
    /** From the collector's `Retry-After`, when it sent one. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** Statuses that mean "the same request will fail again": dropping beats retrying forever. */
const PERMANENT = new Set([400, 413, 415, 422]);

/** A collector asking for more than an hour is misconfigured; the tab keeps trying hourly. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** `Retry-After` as delay-seconds or an HTTP date, capped; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Math.min(MAX_RETRY_AFTER_MS, Number(text) * 1000);
  // An HTTP date always names the day or month; this keeps Date.parse from reading "1.5" as a date.
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, date - now));
}

export interface FetchTransportSettings {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly fetch: typeof fetch;
  readonly now: () => number;
  /** True while the page goes away: a request without keepalive would be cancelled with it. */
  readonly unloading: () => boolean;
}

export function createFetchTransport(settings: FetchTransportSettings): IExporterTransport {
  let keepaliveBytes = 0;
  let keepaliveRequests = 0;

  return {
    async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
      const keepalive =
        data.byteLength + keepaliveBytes <= KEEPALIVE_MAX_BYTES && keepaliveRequests < KEEPALIVE_MAX_REQUESTS;
      if (!keepalive && settings.unloading()) {
        // Not sent at all, so the points go back to the outbox (and its storage) instead of being lost.
        return {
          status: 'retryable',
          error: new DeliveryError('keepalive budget used up while the page unloads', 0, true, undefined),
        };
      }
      if (keepalive) {
        keepaliveBytes += data.byteLength;
        keepaliveRequests += 1;
      }
      try {
        const response = await settings.fetch(settings.url, {
          method: 'POST',
          body: data as BodyInit,
          headers: settings.headers,
          keepalive,
          // Same-origin by default, so Grafana's session cookie goes along and no CORS preflight is needed.
          credentials: 'same-origin',
          signal: AbortSignal.timeout(timeoutMillis),
        });
        // Drain the body: the keepalive quota is released only once the response is consumed.
        const body = new Uint8Array(await response.arrayBuffer());
        if (response.ok) return { status: 'success', data: body };
        const retryAfterMs = parseRetryAfter(response.headers.get('Retry-After'), settings.now());
        const error = new DeliveryError(
          `collector answered ${response.status}`,
          response.status,
          !PERMANENT.has(response.status),
          retryAfterMs,
        );
        return error.retryable
          ? { status: 'retryable', error, ...(retryAfterMs === undefined ? {} : { retryInMillis: retryAfterMs }) }
          : { status: 'failure', error };
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        return { status: 'retryable', error: new DeliveryError(`no answer from the collector: ${reason}`, 0, true, undefined) };
      } finally {
        if (keepalive) {
          keepaliveBytes -= data.byteLength;
          keepaliveRequests -= 1;
        }
      }
    },
    shutdown() {},
  };
}
