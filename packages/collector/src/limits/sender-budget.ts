import { LRUCache } from 'lru-cache';

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

interface Bucket {
  tokens: number;
  at: number;
}

export function createSenderBudget(settings: SenderBudgetSettings): SenderBudget {
  const perMs = settings.perHour / 3_600_000;
  const buckets = new LRUCache<string, Bucket>({ max: settings.maxSenders });
  return {
    take(subject, n, now) {
      let bucket = buckets.get(subject);
      if (bucket === undefined) {
        bucket = { tokens: settings.perHour, at: now };
        buckets.set(subject, bucket);
      } else {
        bucket.tokens = Math.min(settings.perHour, bucket.tokens + Math.max(0, now - bucket.at) * perMs);
        bucket.at = now;
      }
      if (bucket.tokens < n) return false;
      bucket.tokens -= n;
      return true;
    },
  };
}

/** No per-sender budget: every sender may create series up to the caps. */
export const UNLIMITED_BUDGET: SenderBudget = { take: () => true };
