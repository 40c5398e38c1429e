/**
 * A real node:http server on loopback that answers the panel's exports as a test scripts it: queued
 * answers first (status and headers, e.g. 503 with Retry-After), then either a fixed failure, a
 * forward to a real collector, or 200.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedAnswer {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ReceivedRequest {
  readonly path: string;
  readonly body: string;
  readonly contentType: string | undefined;
  status: number | undefined;
}

export interface ScriptedServer {
  readonly url: string;
  readonly port: number;
  readonly received: readonly ReceivedRequest[];
  /** Answers for the next requests, in order. */
  readonly script: ScriptedAnswer[];
  /** When set, every unscripted request gets this answer (an outage). */
  failWith: ScriptedAnswer | undefined;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** `forwardTo`: a collector's base URL that unscripted requests are passed on to while no outage is set. */
export async function startScriptedServer(
  options: { forwardTo?: string; port?: number } = {}
): Promise<ScriptedServer> {
  const received: ReceivedRequest[] = [];
  const script: ScriptedAnswer[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const entry: ReceivedRequest = {
        path: req.url ?? '',
        body,
        contentType: req.headers['content-type'],
        status: undefined,
      };
      received.push(entry);
      const answer = script.shift() ?? state.failWith;
      if (answer) {
        entry.status = answer.status;
        res.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
        res.end('{}');
        return;
      }
      if (options.forwardTo) {
        const upstream = await fetch(`${options.forwardTo}${req.url ?? ''}`, {
          method: req.method ?? 'POST',
          body,
          headers: { 'Content-Type': req.headers['content-type'] ?? 'application/json' },
        });
        const text = await upstream.text();
        entry.status = upstream.status;
        res.writeHead(upstream.status, { 'Content-Type': upstream.headers.get('content-type') ?? 'application/json' });
        res.end(text);
        return;
      }
      entry.status = 200;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    })().catch(() => {
      res.destroy();
    });
  });
  const port = await listen(server, options.port ?? 0);
  const state = {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    script,
    failWith: undefined as ScriptedAnswer | undefined,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return state;
}
