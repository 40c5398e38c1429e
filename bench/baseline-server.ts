import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';

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
      if (refused) {
        return;
      }
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        refused = true;
        res.writeHead(413, { 'content-type': 'application/json', connection: 'close' }).end(EMPTY);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) {
        return;
      }
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

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
const unescape = (text: string): string => text.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

interface ParsedFamily {
  help: string;
  type: string;
  readonly samples: Array<{ labels: Record<string, string>; value: number }>;
}

/**
 * Exposition text as families: HELP, TYPE and samples. A sample line belongs to the family of the
 * TYPE line above it (a counter's samples carry the family name, `_total` and all).
 */
export function parseExposition(exposition: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  let current: ParsedFamily | undefined;
  const family = (name: string): ParsedFamily => {
    let found = families.get(name);
    if (!found) {
      families.set(name, (found = { help: 'help', type: 'untyped', samples: [] }));
    }
    return found;
  };
  for (const line of exposition.split('\n')) {
    if (line.startsWith('# HELP ')) {
      const space = line.indexOf(' ', 7);
      current = family(line.slice(7, space));
      current.help = unescape(line.slice(space + 1));
    } else if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      current = family(name!);
      current.type = type!;
    } else if (!line.startsWith('#')) {
      const sample = SAMPLE.exec(line);
      if (!sample || !current) {
        continue;
      }
      const labels: Record<string, string> = {};
      for (const [, name, value] of (sample[2] ?? '').matchAll(LABEL)) {
        labels[name!] = unescape(value!);
      }
      current.samples.push({ labels, value: Number(sample[3]) });
    }
  }
  return families;
}

/** The counter and gauge families' samples of an exposition (histograms are a few self-metrics here). */
export function counterAndGaugeSamples(exposition: string): number {
  let samples = 0;
  for (const family of parseExposition(exposition).values()) {
    if (family.type === 'counter' || family.type === 'gauge') {
      samples += family.samples.length;
    }
  }
  return samples;
}

/** A registry holding every counter and gauge sample of an exposition: the same label sets and values. */
function registryOf(exposition: string): Registry {
  const registry = new Registry();
  for (const [name, family] of parseExposition(exposition)) {
    if (family.type !== 'counter' && family.type !== 'gauge') {
      continue;
    }
    const labelNames = [...new Set(family.samples.flatMap((s) => Object.keys(s.labels)))];
    const settings = { name, help: family.help, labelNames, registers: [registry] };
    if (family.type === 'counter') {
      const counter = new Counter(settings);
      for (const { labels, value } of family.samples) {
        counter.inc(labels, value);
      }
    } else {
      const gauge = new Gauge(settings);
      for (const { labels, value } of family.samples) {
        gauge.set(labels, value);
      }
    }
  }
  return registry;
}

/**
 * The scrape's baseline: prom-client, the usual Node exposition library. `POST /fill` replaces its
 * registry with the counter and gauge samples of the posted exposition text (the collector's own page,
 * so both hold the same label sets and values); `GET /metrics` answers
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
