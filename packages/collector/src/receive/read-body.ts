import type { IncomingMessage } from 'node:http';
import { finished } from 'node:stream';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import getRawBody from 'raw-body';
import { bodyIdleTimeout, malformedBody, payloadTooLarge, RequestError, unsupportedEncoding } from '../errors.js';

/**
 * Reads a request body, inflating gzip or deflate, and stops as soon as the *decompressed* size passes
 * the limit, so a small gzip bomb costs no more than the limit (OTLP/HTTP asks for the limit to apply
 * after decompression, with 413). An unencoded body with a Content-Length over the limit is refused
 * before a byte of it is read. A body that stops arriving for `idleTimeoutMs` fails with 408, so a
 * stalled upload gives its admission slot back within seconds, not at the request timeout.
 */
export async function readBody(req: IncomingMessage, limitBytes: number, idleTimeoutMs: number): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  let inflater: Gunzip | Inflate | undefined;
  if (encoding === 'gzip' || encoding === 'x-gzip') {
    inflater = createGunzip();
  } else if (encoding === 'deflate') {
    inflater = createInflate();
  } else if (encoding !== 'identity' && encoding !== '') {
    throw unsupportedEncoding(encoding);
  }

  // The read first: it takes the request's 'data' events from the start, before the watch below
  // adds its own listener (which would otherwise set the stream flowing with no one to read it).
  const reading = inflater ? readInflated(req, inflater, limitBytes) : readPlain(req, limitBytes);
  const idle = watchIdle(req, idleTimeoutMs);
  try {
    // The read left behind by a timeout settles when the connection closes; race() has handled it.
    return await Promise.race([reading, idle.expired]);
  } finally {
    idle.stop();
  }
}

async function readPlain(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  try {
    return await getRawBody(req, { limit: limitBytes, length: req.headers['content-length'] });
  } catch (err) {
    throw bodyError(err, limitBytes);
  }
}

async function readInflated(req: IncomingMessage, inflater: Gunzip | Inflate, limitBytes: number): Promise<Buffer> {
  // Carry a client abort through to the inflater, so the read below always settles. (Not pipeline():
  // it would also destroy the request, and with it the socket the 413 must go out on.)
  req.pipe(inflater);
  finished(req, (err) => {
    if (err) {
      inflater.destroy(err);
    }
  });
  try {
    return await getRawBody(inflater, { limit: limitBytes });
  } catch (err) {
    throw bodyError(err, limitBytes);
  } finally {
    // Stop inflating at once when reading failed (limit reached, corrupt data).
    req.unpipe(inflater);
    inflater.destroy();
  }
}

/** Rejects with 408 once no body bytes (compressed or not) have arrived for `idleMs`. */
function watchIdle(req: IncomingMessage, idleMs: number): { readonly expired: Promise<never>; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(bodyIdleTimeout(idleMs)), idleMs);
  });
  const onData = (): void => void timer?.refresh();
  req.on('data', onData);
  return {
    expired,
    stop() {
      clearTimeout(timer);
      req.off('data', onData);
    },
  };
}

function bodyError(err: unknown, limitBytes: number): RequestError {
  const type = (err as { type?: string }).type;
  if (type === 'entity.too.large') {
    return payloadTooLarge(limitBytes);
  }
  if (type === 'request.size.invalid') {
    return malformedBody('request body is shorter or longer than its Content-Length');
  }
  if (type === 'request.aborted') {
    return malformedBody('request aborted by the client');
  }
  const code = (err as { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return malformedBody(`invalid compressed body: ${(err as Error).message}`);
  }
  return malformedBody('could not read the request body');
}
