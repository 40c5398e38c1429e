import type { CollectorServerOptions } from './collector-server.ts';

/** What the orchestrator asks a server child to run. */
export type ServerSpec =
  | { readonly kind: 'baseline' }
  | { readonly kind: 'prom-client' }
  | { readonly kind: 'collector'; readonly options?: CollectorServerOptions };

/** Orchestrator → server child. `memory` with `gc` settles the heap first (needs --expose-gc). */
export type ServerCommand =
  | { readonly type: 'cpu' }
  | { readonly type: 'memory'; readonly gc: boolean }
  | { readonly type: 'save' }
  | { readonly type: 'stop' };

/** Server child → orchestrator. */
export type ServerReply =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'cpu'; readonly micros: number }
  /** `peakRss`: the process's largest resident set so far, in bytes. */
  | { readonly type: 'memory'; readonly memory: NodeJS.MemoryUsage; readonly peakRss: number }
  | { readonly type: 'saved' }
  | { readonly type: 'stopped' };
