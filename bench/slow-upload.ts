import { connect, type Socket } from 'node:net';
import type { Body } from './bodies.ts';

/**
 * An OTLP POST over a raw socket that sends its headers and only part of its body, then waits: a slow
 * browser upload, or a client the collector should answer before it has read a byte of the body.
 * (fetch and autocannon both send the whole body at once.)
 */
export interface SlowUpload {
  /** The answer, as soon as its header block arrives (it may come before the body is complete). */
  readonly answer: Promise<UploadAnswer>;
  /** Sends the rest of the body. */
  finish(): void;
  /** Closes the connection mid-upload. */
  abort(): void;
}

export interface UploadAnswer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  /** From the first byte sent to the end of the answer's header block. */
  readonly ms: number;
  /** Body bytes sent when the answer arrived. */
  readonly bodyBytesSent: number;
}

export function startSlowUpload(baseUrl: string, body: Body, sendBytes: number, timeoutMs = 10_000): SlowUpload {
  const url = new URL(baseUrl);
  const socket: Socket = connect(Number(url.port), url.hostname);
  let sent = Math.min(sendBytes, body.bytes.length);
  const started = performance.now();
  const head =
    `POST /v1/metrics HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: ${body.contentType}\r\n` +
    `Content-Length: ${body.bytes.length}\r\n\r\n`;
  socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body.bytes.subarray(0, sent)]));

  const answer = new Promise<UploadAnswer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) {
        return;
      }
      clearTimeout(timer);
      const lines = received.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(lines[0]!.split(' ')[1]);
      const retryAfter = lines
        .find((l) => l.toLowerCase().startsWith('retry-after:'))
        ?.slice('retry-after:'.length)
        .trim();
      resolve({ status, retryAfter, ms: performance.now() - started, bodyBytesSent: sent });
      socket.removeAllListeners('data');
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error('connection closed before an answer'));
    });
  });
  // A rejection nobody awaits (after abort) must not end the benchmark.
  answer.catch(() => {});

  return {
    answer,
    finish() {
      socket.write(body.bytes.subarray(sent));
      sent = body.bytes.length;
    },
    abort() {
      socket.destroy();
    },
  };
}
