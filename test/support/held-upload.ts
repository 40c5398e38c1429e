import { request, type Agent } from 'node:http';
import type { HttpResult } from './requests.ts';

/** How a held upload ended: the server's answer, or the error that ended the connection without one. */
export type UploadOutcome =
  | { readonly result: HttpResult; readonly error?: undefined }
  | { readonly result?: undefined; readonly error: NodeJS.ErrnoException };

export interface HeldUpload {
  /** Sends the next `bytes` of the body, as a slow client trickling its upload. */
  sendMore(bytes: number): void;
  /** Sends the rest of the body; resolves with how the upload ended. */
  finish(): Promise<UploadOutcome>;
  /** How the upload ended, whether or not finish() was called (the server may cut it off first). */
  readonly outcome: Promise<UploadOutcome>;
}

export interface HeldUploadOptions {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** Bytes of the body sent at once; the rest waits for finish(). */
  readonly firstBytes: number;
  /** A keep-alive agent to upload as a browser does; by default a connection of its own, closed after the answer. */
  readonly agent?: Agent;
}

/**
 * A POST whose headers and first part of the body go out now and the rest only when the test says:
 * a slow client caught mid-upload. Content-Length announces the whole body from the start, so the
 * server is waiting for the rest, not for an end of stream.
 */
export async function holdUpload(url: string, options: HeldUploadOptions): Promise<HeldUpload> {
  const started = performance.now();
  const { body, firstBytes } = options;
  const req = request(url, {
    method: 'POST',
    headers: { ...options.headers, 'content-length': String(body.length) },
    agent: options.agent ?? false,
  });
  const outcome = new Promise<UploadOutcome>((resolve) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          result: {
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            ms: performance.now() - started,
          },
        })
      );
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ error }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error }));
  });
  await new Promise<void>((resolve, reject) => {
    req.once('error', reject);
    req.flushHeaders();
    req.write(body.subarray(0, firstBytes), () => {
      req.off('error', reject);
      resolve();
    });
  });
  let sent = firstBytes;
  return {
    outcome,
    sendMore(bytes) {
      if (!req.destroyed) {
        req.write(body.subarray(sent, sent + bytes));
      }
      sent = Math.min(body.length, sent + bytes);
    },
    finish() {
      if (!req.destroyed) {
        req.end(body.subarray(sent));
      }
      return outcome;
    },
  };
}
