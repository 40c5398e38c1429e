import type { ThroughputBodyName } from './bodies.ts';

/** One bounded load run, as the orchestrator hands it to the load generator child. */
export interface LoadSpec {
  readonly url: string;
  readonly body: ThroughputBodyName;
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
}

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly requests: number;
  /** Anything but a 2xx, connection errors and timeouts: a run with any of these is not a clean number. */
  readonly failures: number;
  /** CPU the load generator used during the measurement, as a share of one core. */
  readonly clientCpu: number;
}

/** Load generator child → orchestrator: the measured phase starts (warm-up is over), then its result. */
export type LoadMessage = { readonly type: 'measuring' } | { readonly type: 'result'; readonly result: LoadResult };
