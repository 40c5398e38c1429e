import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';
import { createBaselineServer, createPromClientServer } from './baseline-server.ts';
import { createCollectorServer, type CollectorServerOptions } from './collector-server.ts';
import type { ServerCommand, ServerReply, ServerSpec } from './server-protocol.ts';

/**
 * Child-process entry for the server under test. It runs alone on its CPU so that the load generator
 * and the orchestrator never steal its cycles, and it answers the orchestrator over IPC: its own CPU
 * time (to tell a saturated server from a saturated load generator), its memory (the heap after a full
 * GC, or the resident set as it is) and, for the collector, a state save on demand.
 */

const spec = JSON.parse(process.argv[2] ?? '{}') as ServerSpec;

interface Running {
  readonly port: number;
  close(): Promise<void>;
  saveState?(): Promise<void>;
}

async function listen(server: Server): Promise<Running> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function start(): Promise<Running> {
  if (spec.kind === 'baseline') {
    return listen(createBaselineServer());
  }
  if (spec.kind === 'prom-client') {
    return listen(createPromClientServer());
  }
  const options: CollectorServerOptions = spec.options ?? {};
  const collector = createCollectorServer(options);
  const { port } = await collector.listen();
  return { port, close: () => collector.close(), saveState: () => collector.saveState() };
}

/** Several passes with a turn of the event loop between them, so weak references and finalizers settle. */
async function settledHeap(): Promise<NodeJS.MemoryUsage> {
  const gc = globalThis.gc;
  if (!gc) {
    throw new Error('heap measurement needs node --expose-gc');
  }
  for (let i = 0; i < 4; i++) {
    gc();
    await tick();
  }
  return process.memoryUsage();
}

async function answer(command: ServerCommand, server: Running): Promise<ServerReply> {
  switch (command.type) {
    case 'cpu': {
      const usage = process.cpuUsage();
      return { type: 'cpu', micros: usage.user + usage.system };
    }
    case 'memory':
      return {
        type: 'memory',
        memory: command.gc ? await settledHeap() : process.memoryUsage(),
        peakRss: process.resourceUsage().maxRSS * 1024,
      };
    case 'save':
      if (!server.saveState) {
        throw new Error(`a ${spec.kind} server has no state to save`);
      }
      await server.saveState();
      return { type: 'saved' };
    case 'stop':
      await server.close();
      return { type: 'stopped' };
  }
}

const server = await start();
process.on('message', (message: { id: number; command: ServerCommand }) => {
  void answer(message.command, server).then(
    (reply) => {
      process.send!({ id: message.id, reply }, () => {
        if (reply.type === 'stopped') {
          process.exit(0);
        }
      });
    },
    (err: unknown) => process.send!({ id: message.id, error: String(err) })
  );
});
process.send!({ id: 0, reply: { type: 'listening', port: server.port } satisfies ServerReply });
