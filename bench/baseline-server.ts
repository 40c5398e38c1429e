import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Counter, Registry } from 'prom-client';

/** Same default limit as the collector, so both refuse the same bodies. */
const MAX_BODY_BYTES = 64 * 1024;
const EMPTY = Buffer.from('{}');

/**
 * The floor any Node OTLP/JSON receiver pays: node:http, read the body, JSON.parse it, answer `{}`.
 * The collector's targets are ratios against this, so it deliberately does nothing else (no
 * framework, no validation) and is written the obvious way rather than tuned.
 */
export function createBaselineServer(): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        refused = true;
        res.writeHead(413, { 'content-type': 'application/json', connection: 'close' }).end(EMPTY);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      try {
        JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end(EMPTY);
        return;
      }
      // Content-Length like the collector sends, so both answer with the same framing on the wire.
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': EMPTY.length }).end(EMPTY);
    });
  });
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
const unescape = (text: string): string => text.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

/** One Counter holding the samples of one family's exposition text (its HELP line and sample lines). */
function registryOf(exposition: string): Registry {
  const registry = new Registry();
  let help = 'help';
  let counter: Counter | undefined;
  for (const line of exposition.split('\n')) {
    if (line.startsWith('# HELP ')) help = unescape(line.slice(line.indexOf(' ', 7) + 1));
    const sample = SAMPLE.exec(line);
    if (!sample) continue;
    const labels: Record<string, string> = {};
    for (const [, name, value] of sample[2]!.matchAll(LABEL)) labels[name!] = unescape(value!);
    counter ??= new Counter({ name: sample[1]!, help, labelNames: Object.keys(labels), registers: [registry] });
    counter.inc(labels, Number(sample[3]));
  }
  return registry;
}

/**
 * The scrape's baseline: prom-client, the usual Node exposition library. `POST /fill` replaces its
 * registry with the samples of the posted exposition text (the collector's own lines for the family
 * the benchmark filled, so both hold the same label sets and values); `GET /metrics` answers
 * `registry.metrics()` and says in `Server-Timing` how long that call took, the figure the collector's
 * scrape is compared with.
 */
export function createPromClientServer(): Server {
  let registry = new Registry();
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET') {
      const started = performance.now();
      void registry.metrics().then((text) => {
        const serialise = `serialise;dur=${(performance.now() - started).toFixed(2)}`;
        res.writeHead(200, { 'content-type': registry.contentType, 'server-timing': serialise }).end(text);
      });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      registry = registryOf(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(204).end();
    });
  });
}
