import type { PhaseRecord } from './overload-protocol.ts';

/**
 * What the overload benchmark reads out of the recorded answers: rates over a window, latency by
 * outcome, and how soon after the overload the collector answers as it did before. Pure functions of
 * the records, so the numbers in BENCHMARKS.md can be recomputed from them.
 */

export interface Latency {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) {
    return NaN;
  }
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

function latencyOf(values: number[]): Latency {
  const sorted = Float64Array.from(values).sort();
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
  };
}

const isRefusal = (status: number): boolean => status === 429 || status === 503;

/** Latency of the answers in [fromMs, toMs) of the phase whose status passes `keep`. */
export function latencyWhere(
  phase: PhaseRecord,
  keep: (status: number) => boolean,
  fromMs = 0,
  toMs = Infinity
): Latency {
  const values: number[] = [];
  for (let i = 0; i < phase.status.length; i++) {
    const at = phase.at[i]!;
    if (at >= fromMs && at < toMs && keep(phase.status[i]!)) {
      values.push(phase.latencyMs[i]!);
    }
  }
  return latencyOf(values);
}

export const admitted = (status: number): boolean => status === 200;
export const refused = isRefusal;

export interface PhaseCounts {
  readonly sent: number;
  readonly answered: number;
  readonly byStatus: ReadonlyMap<number, number>;
  /** Of the answers other than 200, the share that carried Retry-After. */
  readonly nonAdmitted: number;
  readonly nonAdmittedWithRetryAfter: number;
  readonly errors: number;
  readonly timeouts: number;
  /** Sent but neither answered nor failed: in flight when the phase closed its connections. */
  readonly cutAtEnd: number;
}

export function countPhase(phase: PhaseRecord): PhaseCounts {
  const byStatus = new Map<number, number>();
  let nonAdmitted = 0;
  let withRetryAfter = 0;
  for (let i = 0; i < phase.status.length; i++) {
    const status = phase.status[i]!;
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    if (status !== 200) {
      nonAdmitted++;
      withRetryAfter += phase.retryAfter[i]!;
    }
  }
  const answered = phase.status.length;
  return {
    sent: phase.sent,
    answered,
    byStatus,
    nonAdmitted,
    nonAdmittedWithRetryAfter: withRetryAfter,
    errors: phase.errors,
    timeouts: phase.timeouts,
    cutAtEnd: Math.max(0, phase.sent - answered - phase.errors - phase.timeouts),
  };
}

/**
 * Answers per second in [fromMs, toMs), by answer time. The phase's first second is left out by the
 * caller: its staggered load-generator runs start one after another, so it offers less.
 */
export function ratePerSecond(
  phase: PhaseRecord,
  keep: (status: number) => boolean,
  fromMs: number,
  toMs: number
): number {
  let n = 0;
  for (let i = 0; i < phase.status.length; i++) {
    const at = phase.at[i]!;
    if (at >= fromMs && at < toMs && keep(phase.status[i]!)) {
      n++;
    }
  }
  return n / ((toMs - fromMs) / 1000);
}

/** Requests sent per second in [fromMs, toMs): the load actually offered. */
export function offeredPerSecond(phase: PhaseRecord, fromMs: number, toMs: number): number {
  let n = 0;
  for (const at of phase.sentAt) {
    if (at >= fromMs && at < toMs) {
      n++;
    }
  }
  return n / ((toMs - fromMs) / 1000);
}

/** p99 of admitted requests in each whole window of the phase, in order (NaN for a window without any). */
export function windowP99s(phase: PhaseRecord, windowMs: number): number[] {
  const windows = Math.floor(phase.elapsedMs / windowMs);
  return Array.from(
    { length: windows },
    (_, w) => latencyWhere(phase, admitted, w * windowMs, (w + 1) * windowMs).p99Ms
  );
}

export interface Recovery {
  /** From the end of the overload to the first 200. */
  readonly firstAdmittedMs: number;
  /** From the end of the overload to the last 429/503 seen at the lighter load; 0 when there was none. */
  readonly lastRefusalMs: number;
  /**
   * From the end of the overload to the end of the first window whose p99 of admitted requests is no
   * higher than `limitMs`; NaN when none was.
   */
  readonly p99BackMs: number;
  /** Windows after that one whose p99 was higher again (host noise, or a late effect of the overload). */
  readonly windowsAboveLaterOn: number;
  readonly windows: number;
}

/**
 * `gapMs` is the time between the overload's end and the first request of the phase after it
 * (the load generator switching runs), added to every time so they count from the overload's end.
 * `limitMs` is the worst window p99 of the steady phase before the overload, windowed the same way:
 * p99 over a few hundred requests is itself noisy, so "back to baseline" compares like with like.
 */
export function recoveryAfter(after: PhaseRecord, gapMs: number, limitMs: number, windowMs: number): Recovery {
  let firstAdmitted = NaN;
  let lastRefusal = 0;
  for (let i = 0; i < after.status.length; i++) {
    const status = after.status[i]!;
    if (status === 200 && Number.isNaN(firstAdmitted)) {
      firstAdmitted = gapMs + after.at[i]!;
    }
    if (status !== 200) {
      lastRefusal = gapMs + after.at[i]!;
    }
  }
  const p99s = windowP99s(after, windowMs);
  const back = p99s.findIndex((p99) => p99 <= limitMs);
  return {
    firstAdmittedMs: firstAdmitted,
    lastRefusalMs: lastRefusal,
    p99BackMs: back === -1 ? NaN : gapMs + (back + 1) * windowMs,
    windowsAboveLaterOn: back === -1 ? 0 : p99s.slice(back + 1).filter((p99) => !(p99 <= limitMs)).length,
    windows: p99s.length,
  };
}
