import { getHeapStatistics } from 'node:v8';
import { LRUCache } from 'lru-cache';
import { addressKey } from './address-key.js';
import { createTokenBucket, type TokenBucket } from '../limits/index.js';

export interface AdmissionSettings {
  /** Main token bucket's rate: requests of senders known to be allowed, per second on average. */
  readonly maxRequestsPerSecond: number;
  /** Main bucket's size: such requests admitted at once above the rate. */
  readonly burst: number;
  /** Requests in the collector at once (reading, authenticating, ingesting). */
  readonly maxConcurrentRequests: number;
  /** Heap in use, as a share of V8's heap limit, above which requests are shed. */
  readonly maxHeapFraction: number;
  /** Retry-After for the 503s and the per-sender 429 (the rate 429s say when the next token comes). */
  readonly retryAfterSeconds: number;
  /** Each client address's own small bucket, for requests whose sender is not known to be allowed. */
  readonly perAddress: { readonly maxRequestsPerSecond: number; readonly burst: number };
  /** Requests of one sender (AuthAllowed.subject) in flight at once. */
  readonly maxConcurrentRequestsPerSender: number;
  /** Client addresses with a bucket of their own; the least recently seen gives its up past this. */
  readonly maxAddresses?: number;
  /** Milliseconds, monotonic. */
  readonly now?: () => number;
  /** Heap in use and its limit, in bytes. */
  readonly heap?: () => { readonly used: number; readonly limit: number };
}

export type AdmissionRefusal = {
  readonly admitted: false;
  readonly status: 429 | 503;
  readonly reason:
    'rate_limited' | 'address_rate_limited' | 'too_many_in_flight' | 'sender_too_many_in_flight' | 'memory_pressure';
  readonly retryAfterSeconds: number;
  readonly message: string;
};

/**
 * A request let in past the heap and in-flight checks. It then draws on one budget or the other as
 * soon as the authorize stage can say whether its sender is allowed, and holds a slot of its sender.
 * Each of these returns the refusal to answer with, or undefined when the request may go on.
 */
export interface AdmissionTicket {
  readonly admitted: true;
  /** A token of the main bucket: for a request whose sender is known to be allowed. */
  takeMainToken(): AdmissionRefusal | undefined;
  /** A token of the client address's bucket: for a request whose sender is not (yet) known to be allowed. */
  takeAddressToken(clientAddress: string): AdmissionRefusal | undefined;
  /** One of the sender's slots for requests in flight, held until release(). */
  enterSender(subject: string): AdmissionRefusal | undefined;
  /** Frees the in-flight slot and the sender's; call exactly once when the answer is written (more calls do nothing). */
  release(): void;
}

/**
 * Admission control, asked before a byte of the body is read: shedding costs microseconds there,
 * while a request let in costs its body, its decode and its share of the heap. In order: memory (503,
 * like the OTel Collector's memory_limiter) and requests in flight (503), at once; then a rate budget
 * (429): the main bucket for senders known to be allowed, or the client address's small bucket for
 * everyone else, so requests without valid credentials never spend what signed-in users need; then
 * the sender's requests in flight (429), so one sender's stalled uploads cannot take every slot. All
 * codes are retryable in OTLP/HTTP and carry Retry-After, which the panel honours.
 */
export interface Admission {
  admit(): AdmissionTicket | AdmissionRefusal;
  readonly inFlight: number;
}

/** How often the heap is looked at: often enough to react within a burst, rarely enough to cost nothing. */
const HEAP_SAMPLE_MS = 100;

/**
 * Client addresses tracked at once. An address is dropped once its bucket would be full again anyway
 * (burst / rate after it was last seen), so only this many addresses sending within those few seconds
 * push each other out; past that, the oldest starts over with a full bucket.
 */
const MAX_ADDRESSES = 10_000;

function v8Heap(): { used: number; limit: number } {
  const stats = getHeapStatistics();
  return { used: stats.used_heap_size, limit: stats.heap_size_limit };
}

export function createAdmission(settings: AdmissionSettings): Admission {
  const now = settings.now ?? (() => performance.now());
  const heap = settings.heap ?? v8Heap;
  const main = createTokenBucket({ perSecond: settings.maxRequestsPerSecond, burst: settings.burst }, now());
  const perAddress = { perSecond: settings.perAddress.maxRequestsPerSecond, burst: settings.perAddress.burst };
  const addresses = new LRUCache<string, TokenBucket>({
    max: settings.maxAddresses ?? MAX_ADDRESSES,
    ttl: Math.ceil((perAddress.burst / perAddress.perSecond) * 1000),
    updateAgeOnGet: true,
    perf: { now },
    ttlResolution: 0,
  });
  /**
   * Requests in flight per sender. No LRU needed: a sender is listed only while one of its requests
   * holds an in-flight slot, so there are never more entries than maxConcurrentRequests.
   */
  const senders = new Map<string, number>();
  let inFlight = 0;
  let heapSampledAt = -Infinity;
  let overHeap = false;

  const refusal = (
    status: 429 | 503,
    reason: AdmissionRefusal['reason'],
    message: string,
    retryAfterSeconds = settings.retryAfterSeconds
  ): AdmissionRefusal => ({
    admitted: false,
    status,
    reason,
    retryAfterSeconds,
    message,
  });

  function leaveSender(subject: string): void {
    const n = senders.get(subject)! - 1;
    if (n === 0) {
      senders.delete(subject);
    } else {
      senders.set(subject, n);
    }
  }

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
        return refusal(503, 'memory_pressure', 'the collector is low on memory: retry later');
      }
      if (inFlight >= settings.maxConcurrentRequests) {
        return refusal(503, 'too_many_in_flight', 'the collector is busy: retry later');
      }
      inFlight++;
      let released = false;
      let sender: string | undefined;
      return {
        admitted: true,
        takeMainToken() {
          if (main.take(now())) {
            return undefined;
          }
          return refusal(
            429,
            'rate_limited',
            `more than ${settings.maxRequestsPerSecond} requests per second: retry later`,
            main.secondsToNextToken()
          );
        },
        takeAddressToken(clientAddress) {
          const t = now();
          const key = addressKey(clientAddress);
          let bucket = addresses.get(key);
          if (bucket === undefined) {
            bucket = createTokenBucket(perAddress, t);
            addresses.set(key, bucket);
          }
          if (bucket.take(t)) {
            return undefined;
          }
          return refusal(
            429,
            'address_rate_limited',
            `more than ${perAddress.perSecond} requests per second from this address without verified credentials: retry later`,
            bucket.secondsToNextToken()
          );
        },
        enterSender(subject) {
          const n = senders.get(subject) ?? 0;
          if (n >= settings.maxConcurrentRequestsPerSender) {
            return refusal(
              429,
              'sender_too_many_in_flight',
              `more than ${settings.maxConcurrentRequestsPerSender} requests of this sender at once: retry later`
            );
          }
          senders.set(subject, n + 1);
          sender = subject;
          return undefined;
        },
        release() {
          if (released) {
            return;
          }
          released = true;
          inFlight--;
          if (sender !== undefined) {
            leaveSender(sender);
          }
        },
      };
    },
  };
}
