import type { IncomingMessage } from 'node:http';
import { finished } from 'node:stream';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import getRawBody from 'raw-body';
import { malformedBody, payloadTooLarge, RequestError, unsupportedEncoding } from '../errors.js';

/**
 * Reads a request body, inflating gzip or deflate, and stops as soon as the *decompressed* size passes
 * the limit, so a small gzip bomb costs no more than the limit (OTLP/HTTP asks for the limit to apply
 * after decompression, with 413). An unencoded body with a Content-Length over the limit is refused
 * before a byte of it is read.
 */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  let inflater: Gunzip | Inflate | undefined;
  if (encoding === 'gzip' || encoding === 'x-gzip') inflater = createGunzip();
  else if (encoding === 'deflate') inflater = createInflate();
  else if (encoding !== 'identity' && encoding !== '') throw unsupportedEncoding(encoding);

  if (!inflater) {
    try {
      return await getRawBody(req, { limit: limitBytes, length: req.headers['content-length'] });
    } catch (err) {
      throw bodyError(err, limitBytes);
    }
  }
  // Carry a client abort through to the inflater, so the read below always settles. (Not pipeline():
  // it would also destroy the request, and with it the socket the 413 must go out on.)
  req.pipe(inflater);
  finished(req, (err) => {
    if (err) inflater.destroy(err);
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

function bodyError(err: unknown, limitBytes: number): RequestError {
  const type = (err as { type?: string }).type;
  if (type === 'entity.too.large') return payloadTooLarge(limitBytes);
  if (type === 'request.size.invalid') return malformedBody('request body is shorter or longer than its Content-Length');
  if (type === 'request.aborted') return malformedBody('request aborted by the client');
  const code = (err as { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('Z_')) return malformedBody(`invalid compressed body: ${(err as Error).message}`);
  return malformedBody('could not read the request body');
}
