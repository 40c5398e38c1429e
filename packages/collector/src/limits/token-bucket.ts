/**
 * A token bucket: holds at most `burst` tokens, refilled continuously at `perSecond`. Admission takes one
 * per request; the per-sender series budget takes one per new series.
 */
export interface TokenBucket {
  /** Takes `n` tokens (one by default) if there are that many, else none; `now` in milliseconds. */
  take(now: number, n?: number): boolean;
  /** Seconds until the next token, rounded up to at least 1 (the least a Retry-After can say). */
  secondsToNextToken(): number;
}

export interface TokenBucketSettings {
  readonly perSecond: number;
  readonly burst: number;
}

/** A full bucket as of `now`. */
export function createTokenBucket(settings: TokenBucketSettings, now: number): TokenBucket {
  const perMs = settings.perSecond / 1000;
  let tokens = settings.burst;
  let refilledAt = now;
  return {
    take(t, n = 1) {
      // A clock that steps back (the wall clock the series budget uses can) refills nothing.
      tokens = Math.min(settings.burst, tokens + Math.max(0, t - refilledAt) * perMs);
      refilledAt = t;
      // Refills are fractions that do not add up exactly in floating point (ten 0.1s make 0.999…):
      // without the tolerance a steady stream would get one request fewer per refill than its budget.
      if (tokens < n - 1e-9) {
        return false;
      }
      tokens -= n;
      return true;
    },
    secondsToNextToken() {
      return Math.max(1, Math.ceil((1 - tokens) / perMs / 1000));
    },
  };
}
