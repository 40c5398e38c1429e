import type { ThroughputBodyName } from './bodies.ts';

/** One stretch of fixed-rate load; the phases of a plan run back to back, without a gap. */
export interface LoadPhase {
  readonly name: string;
  /** Requests offered per second. */
  readonly rate: number;
  /** Keep-alive connections in all; with no pipelining this bounds the requests in flight. */
  readonly connections: number;
  readonly seconds: number;
}

export interface LoadPlan {
  readonly url: string;
  readonly body: ThroughputBodyName;
  readonly phases: readonly LoadPhase[];
}

/**
 * Every answer of one phase, in arrival order (typed arrays, sent with the `advanced` IPC
 * serialization). Times are milliseconds from the phase's start on the load generator's clock.
 */
export interface PhaseRecord {
  readonly name: string;
  /** When the phase started, in ms on the load generator's clock: phases are compared by it. */
  readonly startedAtMs: number;
  /** Phase length as it ran: from its first request to the moment its last connection was closed. */
  readonly elapsedMs: number;
  readonly sent: number;
  /** When each request went out. */
  readonly sentAt: Float64Array;
  /** When each answer was complete. */
  readonly at: Float64Array;
  readonly latencyMs: Float64Array;
  readonly status: Uint16Array;
  /** 1 when the answer carried a Retry-After header. */
  readonly retryAfter: Uint8Array;
  /** Connection errors (refused, reset) and timeouts; each is a request that got no answer. */
  readonly errors: number;
  readonly timeouts: number;
  /** CPU the load generator used over the phase, as a share of one core. */
  readonly clientCpu: number;
}

/** Load generator child → orchestrator: a phase starts (so the server can be sampled per phase), then all records. */
export type OverloadLoadMessage =
  | { readonly type: 'phase'; readonly name: string }
  | { readonly type: 'done'; readonly phases: readonly PhaseRecord[] };
