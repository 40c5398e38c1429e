import type { CollectorServerOptions } from './collector-server.ts';

/** What the orchestrator asks a server child to run. */
export type ServerSpec =
  | { readonly kind: 'baseline' }
  | { readonly kind: 'collector'; readonly options?: CollectorServerOptions };

/** Orchestrator → server child. */
export type ServerCommand = { readonly type: 'cpu' } | { readonly type: 'heap' } | { readonly type: 'stop' };

/** Server child → orchestrator. */
export type ServerReply =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'cpu'; readonly micros: number }
  | { readonly type: 'heap'; readonly memory: NodeJS.MemoryUsage }
  | { readonly type: 'stopped' };
