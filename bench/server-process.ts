import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pinnedNode, SERVER_CPU } from './pinning.ts';
import type { ServerCommand, ServerReply, ServerSpec } from './server-protocol.ts';

const SERVER_MAIN = fileURLToPath(new URL('./server-main.ts', import.meta.url));
const START_TIMEOUT_MS = 15_000;

export interface ServerProcess {
  readonly url: string;
  /** CPU time (user + system) the server has used so far, in seconds. */
  cpuSeconds(): Promise<number>;
  /** Memory as it is, or with `gc` after full GCs (the process must have been started with `exposeGc`). */
  memory(options: { gc: boolean }): Promise<{ memory: NodeJS.MemoryUsage; peakRss: number }>;
  /** `collector.saveState()`, resolved when the save is done (collector started with a state file). */
  saveState(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a server child pinned to the server CPU and waits until it listens. */
export async function startServer(spec: ServerSpec, options: { exposeGc?: boolean } = {}): Promise<ServerProcess> {
  const flags = options.exposeGc ? ['--expose-gc'] : [];
  const { command, args } = pinnedNode(SERVER_CPU, [...flags, SERVER_MAIN, JSON.stringify(spec)]);
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve(reply: ServerReply): void; reject(err: Error): void }>();
  let nextId = 1;

  const listening = new Promise<ServerReply>((resolve, reject) => {
    pending.set(0, { resolve, reject });
  });
  child.on('message', (message: { id: number; reply?: ServerReply; error?: string }) => {
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) {
      waiter?.reject(new Error(message.error));
    } else {
      waiter?.resolve(message.reply!);
    }
  });
  child.on('exit', (code, signal) => {
    for (const waiter of pending.values()) {
      waiter.reject(new Error(`server exited (${code ?? signal})`));
    }
    pending.clear();
  });

  function ask(command: ServerCommand): Promise<ServerReply> {
    const id = nextId++;
    return new Promise<ServerReply>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      child.send({ id, command });
    });
  }

  const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
  const ready = await listening.finally(() => clearTimeout(timer));
  if (ready.type !== 'listening') {
    throw new Error(`unexpected first reply ${ready.type}`);
  }

  return {
    url: `http://127.0.0.1:${ready.port}`,
    async cpuSeconds() {
      const reply = await ask({ type: 'cpu' });
      if (reply.type !== 'cpu') {
        throw new Error(`unexpected reply ${reply.type}`);
      }
      return reply.micros / 1e6;
    },
    async memory({ gc }) {
      const reply = await ask({ type: 'memory', gc });
      if (reply.type !== 'memory') {
        throw new Error(`unexpected reply ${reply.type}`);
      }
      return reply;
    },
    async saveState() {
      const reply = await ask({ type: 'save' });
      if (reply.type !== 'saved') {
        throw new Error(`unexpected reply ${reply.type}`);
      }
    },
    stop: () => stopChild(child, () => ask({ type: 'stop' })),
  };
}

async function stopChild(child: ChildProcess, ask: () => Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A clean close first; a server that hangs must not hang the whole benchmark.
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await ask().catch(() => child.kill('SIGKILL'));
  await exited;
  clearTimeout(timer);
}
