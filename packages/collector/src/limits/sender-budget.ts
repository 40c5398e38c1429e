import { LRUCache } from 'lru-cache';
import { createTokenBucket, type TokenBucket } from './token-bucket.js';

export interface SenderBudgetSettings {
  /** New series one sender may create per hour (a token bucket refilled evenly over the hour). */
  readonly perHour: number;
  /** Senders remembered; the least recently seen are forgotten past it (and start with a full budget). */
  readonly maxSenders: number;
}

/**
 * Budgets for new series, per sender (the authorize stage's subject: who a signed-in user is, never in
 * clear). A real user opening dashboards creates a few dozen series an hour; one who invents dashboards
 * to fill the caps runs out here, while everyone else keeps theirs.
 */
export interface SenderBudget {
  /** Takes `n` from the sender's budget; false (and nothing taken) when it has fewer left. */
  take(subject: string, n: number, now: number): boolean;
}

export function createSenderBudget(settings: SenderBudgetSettings): SenderBudget {
  const buckets = new LRUCache<string, TokenBucket>({ max: settings.maxSenders });
  return {
    take(subject, n, now) {
      let bucket = buckets.get(subject);
      if (bucket === undefined) {
        bucket = createTokenBucket({ perSecond: settings.perHour / 3600, burst: settings.perHour }, now);
        buckets.set(subject, bucket);
      }
      return bucket.take(now, n);
    },
  };
}

/** No per-sender budget: every sender may create series up to the caps. */
export const UNLIMITED_BUDGET: SenderBudget = { take: () => true };
