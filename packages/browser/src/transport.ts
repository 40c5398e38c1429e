/**
 * One POST per export, no retries of its own: the outbox owns what was not delivered, so a retry here
 * would risk sending the same counts twice. Small bodies go with `keepalive`, so an export started
 * while the tab closes is still delivered. The SDK's fetch transport retries internally and hides
 * `Retry-After` from its caller, which is why the panel brings this one.
 *
 * The one exception is a keepalive request that fails with a TypeError, which is how a browser
 * refuses one over its budget, before anything is sent: it goes once more without keepalive.
 */
import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';

/** Browsers share a 64 KiB budget for keepalive bodies per page; stay well under it. */
export const KEEPALIVE_MAX_BYTES = 60_000;
/** Browsers refuse more than 9 keepalive requests in flight (Chromium, Faro's measurement). */
const KEEPALIVE_MAX_REQUESTS = 9;

/**
 * Keepalive bodies in flight on this page. The browser's budget is per page, so every copy of this
 * code on it (the app plugin and the panel each bundle one; a rebuilt meter makes another transport)
 * must count against one tally. The shape is a contract between versions: keep it.
 */
interface KeepaliveBudget {
  bytes: number;
  requests: number;
}

/** Where the page's tally lives on the global object; `Symbol.for` gives every bundle the same key. */
const KEEPALIVE_BUDGET_KEY: unique symbol = Symbol.for('footfall.keepalive-budget');

function isBudget(x: unknown): x is KeepaliveBudget {
  if (typeof x !== 'object' || x === null) {
    return false;
  }
  const { bytes, requests } = x as Partial<Record<keyof KeepaliveBudget, unknown>>;
  return Number.isFinite(bytes) && Number.isFinite(requests);
}

/** The page's keepalive tally, made on first use by whichever copy of the code comes first. */
function pageKeepaliveBudget(): KeepaliveBudget {
  const existing = (globalThis as { [KEEPALIVE_BUDGET_KEY]?: unknown })[KEEPALIVE_BUDGET_KEY];
  if (isBudget(existing)) {
    return existing;
  }
  const budget: KeepaliveBudget = { bytes: 0, requests: 0 };
  try {
    Object.defineProperty(globalThis, KEEPALIVE_BUDGET_KEY, {
      value: budget,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  } catch {
    // A frozen global: this copy keeps its own tally, as before the tally was shared.
  }
  return budget;
}

/** Why an export failed, and whether sending the same points again can succeed. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when no response arrived. */
    readonly status: number,
    /** False for answers that will not change on retry (bad request, payload too large). */
    readonly retryable: boolean,
    /** From the collector's `Retry-After`, when it sent one. */
    readonly retryAfterMs: number | undefined
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
  if (header === null) {
    return undefined;
  }
  const text = header.trim();
  if (/^\d+$/.test(text)) {
    return Math.min(MAX_RETRY_AFTER_MS, Number(text) * 1000);
  }
  // An HTTP date always names the day or month; this keeps Date.parse from reading "1.5" as a date.
  if (!/[a-z]/i.test(text)) {
    return undefined;
  }
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

const retryableError = (message: string): ExportResponse => ({
  status: 'retryable',
  error: new DeliveryError(message, 0, true, undefined),
});

/**
 * How a browser refuses a keepalive request over its budget (the spec's "network error"): a
 * TypeError, thrown or as an immediate rejection. A timeout is a DOMException and does not count.
 * A TypeError from a real network failure looks the same; retrying that once is no worse than the
 * outbox's own retry of a failed body, which would send it again anyway.
 */
const isRefusal = (e: unknown): boolean => e instanceof TypeError;

export function createFetchTransport(settings: FetchTransportSettings): IExporterTransport {
  async function post(data: Uint8Array, timeoutMillis: number, keepalive: boolean): Promise<ExportResponse> {
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
    if (response.ok) {
      return { status: 'success', data: body };
    }
    const retryAfterMs = parseRetryAfter(response.headers.get('Retry-After'), settings.now());
    const error = new DeliveryError(
      `collector answered ${response.status}`,
      response.status,
      !PERMANENT.has(response.status),
      retryAfterMs
    );
    return error.retryable
      ? { status: 'retryable', error, ...(retryAfterMs === undefined ? {} : { retryInMillis: retryAfterMs }) }
      : { status: 'failure', error };
  }

  async function postWithoutKeepalive(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    try {
      return await post(data, timeoutMillis, false);
    } catch (e) {
      return retryableError(`no answer from the collector: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  return {
    async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
      // Looked up per send: another copy of the code may have made the tally since this transport was.
      const budget = pageKeepaliveBudget();
      const keepalive =
        data.byteLength + budget.bytes <= KEEPALIVE_MAX_BYTES && budget.requests < KEEPALIVE_MAX_REQUESTS;
      if (!keepalive) {
        // Not sent at all while unloading, so the points go back to the outbox (and its storage) instead of being lost.
        if (settings.unloading()) {
          return retryableError('keepalive budget used up while the page unloads');
        }
        return postWithoutKeepalive(data, timeoutMillis);
      }
      budget.bytes += data.byteLength;
      budget.requests += 1;
      let failure: unknown;
      try {
        return await post(data, timeoutMillis, true);
      } catch (e) {
        failure = e;
      } finally {
        budget.bytes -= data.byteLength;
        budget.requests -= 1;
      }
      // Grafana's own agents share the browser's budget, and the tally above cannot see them.
      if (isRefusal(failure) && !settings.unloading()) {
        return postWithoutKeepalive(data, timeoutMillis);
      }
      return retryableError(
        `no answer from the collector: ${failure instanceof Error ? failure.message : String(failure)}`
      );
    },
    shutdown() {},
  };
}
