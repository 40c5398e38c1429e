import { getHeapStatistics } from 'node:v8';

export interface AdmissionSettings {
  /** Token-bucket rate: requests admitted per second, on average. */
  readonly maxRequestsPerSecond: number;
  /** Bucket size: requests admitted at once above the rate. */
  readonly burst: number;
  /** Requests in the collector at once (reading, authenticating, ingesting). */
  readonly maxConcurrentRequests: number;
  /** Heap in use, as a share of V8's heap limit, above which requests are shed. */
  readonly maxHeapFraction: number;
  /** Retry-After for the 503s (the 429's comes from the bucket). */
  readonly retryAfterSeconds: number;
  /** Milliseconds, monotonic. */
  readonly now?: () => number;
  /** Heap in use and its limit, in bytes. */
  readonly heap?: () => { readonly used: number; readonly limit: number };
}

export type AdmissionRefusal = {
  readonly admitted: false;
  readonly status: 429 | 503;
  readonly reason: 'rate_limited' | 'too_many_in_flight' | 'memory_pressure';
  readonly retryAfterSeconds: number;
  readonly message: string;
};

/** Admitted: release() exactly once when the answer is written. */
export type AdmissionTicket = { readonly admitted: true; release(): void };

/**
 * Admission control, asked before a byte of the body is read: shedding costs microseconds there,
 * while a request let in costs its body, its decode and its share of the heap. Three budgets, checked
 * in order: memory (503, like the OTel Collector's memory_limiter), requests in flight (503) and rate
 * (429). Both codes are retryable in OTLP/HTTP and carry Retry-After, which the panel honours.
 */
export interface Admission {
  admit(): AdmissionTicket | AdmissionRefusal;
  readonly inFlight: number;
}

/** How often the heap is looked at: often enough to react within a burst, rarely enough to cost nothing. */
const HEAP_SAMPLE_MS = 100;

function v8Heap(): { used: number; limit: number } {
  const stats = getHeapStatistics();
  return { used: stats.used_heap_size, limit: stats.heap_size_limit };
}

export function createAdmission(settings: AdmissionSettings): Admission {
  const now = settings.now ?? (() => performance.now());
  const heap = settings.heap ?? v8Heap;
  const perMs = settings.maxRequestsPerSecond / 1000;
  let tokens = settings.burst;
  let refilledAt = now();
  let inFlight = 0;
  let heapSampledAt = -Infinity;
  let overHeap = false;

  const release = (): void => {
    inFlight--;
  };

  return {
    get inFlight() {
      return inFlight;
    },
    admit() {
      const t = now();
      if (t - heapSampledAt >= HEAP_SAMPLE_MS) {
        const { used, limit } = heap();
        overHeap = used > settings.maxHeapFraction * limit;
        heapSampledAt = t;
      }
      if (overHeap) {
        return {
          admitted: false,
          status: 503,
          reason: 'memory_pressure',
          retryAfterSeconds: settings.retryAfterSeconds,
          message: 'the collector is low on memory: retry later',
        };
      }
      if (inFlight >= settings.maxConcurrentRequests) {
        return {
          admitted: false,
          status: 503,
          reason: 'too_many_in_flight',
          retryAfterSeconds: settings.retryAfterSeconds,
          message: 'the collector is busy: retry later',
        };
      }
      tokens = Math.min(settings.burst, tokens + (t - refilledAt) * perMs);
      refilledAt = t;
      // Refills are fractions that do not add up exactly in floating point (ten 0.1s make 0.999…):
      // without the tolerance a steady stream would get one request fewer per refill than its budget.
      if (tokens < 1 - 1e-9) {
        return {
          admitted: false,
          status: 429,
          reason: 'rate_limited',
          // The wait for the next token: under a second at any rate the schema allows, so 1 (the least a header can say).
          retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)),
          message: `more than ${settings.maxRequestsPerSecond} requests per second: retry later`,
        };
      }
      tokens -= 1;
      inFlight++;
      let released = false;
      return {
        admitted: true,
        release() {
          if (released) return;
          released = true;
          release();
        },
      };
    },
  };
}
