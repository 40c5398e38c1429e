import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

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
