import { once } from 'node:events';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { ExportRequest } from './otlp.ts';

/** The collector's own OTLP metrics schema: the wire contract the tests decode answers with. */
export const OTLP_PROTO = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../packages/collector/proto/otlp-metrics.proto'
);

export interface OtlpTypes {
  readonly Request: protobuf.Type;
  readonly Response: protobuf.Type;
  readonly Status: protobuf.Type;
}

export function loadOtlpTypes(): OtlpTypes {
  const root = protobuf.loadSync(OTLP_PROTO);
  return {
    Request: root.lookupType('footfall.otlp.ExportMetricsServiceRequest'),
    Response: root.lookupType('footfall.otlp.ExportMetricsServiceResponse'),
    Status: root.lookupType('footfall.otlp.Status'),
  };
}

export interface HttpResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** From sending the request to the end of the answer. */
  readonly ms: number;
}

export interface SendOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer | string;
}

/**
 * One HTTP request on its own connection (node:http, so headers and body go out exactly as given:
 * no automatic Content-Type, no decompression of the answer).
 */
export function send(url: string, options: SendOptions = {}): Promise<HttpResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const headers: Record<string, string> = { ...options.headers };
    if (body !== undefined) {
      headers['content-length'] = String(body.length);
    }
    const req = request(url, { method: options.method ?? 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          ms: performance.now() - started,
        })
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The media type of a Content-Type header, without parameters. */
export function mediaTypeOf(result: HttpResult): string {
  return (result.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export interface RpcStatus {
  readonly code: number;
  readonly message: string;
}

/** Decodes a google.rpc.Status body in the encoding its Content-Type says. */
export function decodeStatus(result: HttpResult, types: OtlpTypes): RpcStatus {
  const media = mediaTypeOf(result);
  if (media === 'application/x-protobuf') {
    const decoded = types.Status.toObject(types.Status.decode(result.body), { defaults: true }) as RpcStatus;
    return { code: decoded.code, message: decoded.message };
  }
  if (media === 'application/json') {
    const parsed = JSON.parse(result.body.toString('utf8')) as Partial<RpcStatus>;
    if (typeof parsed.code !== 'number' || typeof parsed.message !== 'string') {
      throw new Error(`not a google.rpc.Status: ${result.body.toString('utf8')}`);
    }
    return { code: parsed.code, message: parsed.message };
  }
  throw new Error(`unexpected content type ${JSON.stringify(result.headers['content-type'])}`);
}

export interface PartialSuccess {
  readonly rejectedDataPoints: number;
  readonly errorMessage: string;
}

/** Decodes an ExportMetricsServiceResponse (protobuf); undefined partialSuccess when the body has none. */
export function decodeProtobufResponse(body: Buffer, types: OtlpTypes): { partialSuccess?: PartialSuccess } {
  return types.Response.toObject(types.Response.decode(body), { longs: Number }) as { partialSuccess?: PartialSuccess };
}

/** google.rpc.Code values. */
export const RPC = { INVALID_ARGUMENT: 3, RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12 } as const;

export function toJson(message: ExportRequest): Buffer {
  return Buffer.from(JSON.stringify(message));
}

export function toProtobuf(message: ExportRequest, types: OtlpTypes): Buffer {
  return Buffer.from(types.Request.encode(types.Request.fromObject(message)).finish());
}

export interface JsonExportResponse {
  readonly partialSuccess?: { readonly rejectedDataPoints?: string | number; readonly errorMessage?: string };
  readonly [field: string]: unknown;
}

/** Decodes an ExportMetricsServiceResponse (JSON); an empty body is the empty response. */
export function decodeJsonResponse(body: Buffer): JsonExportResponse {
  const text = body.toString('utf8');
  return text === '' ? {} : (JSON.parse(text) as JsonExportResponse);
}

export interface ExportResponse {
  readonly status: number;
  readonly body: JsonExportResponse;
}

/** POSTs an OTLP/JSON export request to the collector's /v1/metrics. */
export async function postJson(collectorUrl: string, request: ExportRequest): Promise<ExportResponse> {
  const res = await send(`${collectorUrl}/v1/metrics`, {
    headers: { 'content-type': 'application/json' },
    body: toJson(request),
  });
  return { status: res.status, body: decodeJsonResponse(res.body) };
}

/** Points the collector refused in an export response (0 when there is no partial success). */
export function rejectedPoints(response: ExportResponse): number {
  return Number(response.body.partialSuccess?.rejectedDataPoints ?? 0);
}

export interface LargeUpload {
  /** Status line and headers of the answer. */
  readonly head: string;
  readonly status: number;
  /** Bytes of the body written without a socket error. */
  readonly sent: number;
  /** The socket error (EPIPE, ECONNRESET) met while sending the announced body, if any. */
  readonly error: string | undefined;
}

/**
 * A fast client with a large upload, made deterministic: announces `declared` bytes and sends the
 * first 64 KiB; then, once the server has answered (a server may answer early) or after 300 ms (it may
 * also wait for the body), sends the rest, as an HTTP client still uploading does. Reports the answer
 * and whether the connection was reset under the client before it had sent what it announced.
 */
export async function uploadLargeBody(
  url: string,
  headers: Readonly<Record<string, string>>,
  declared: number
): Promise<LargeUpload> {
  const target = new URL(url);
  const socket = connect(Number(target.port), target.hostname);
  let error: string | undefined;
  socket.on('error', (err: NodeJS.ErrnoException) => (error ??= err.code ?? err.message));
  await once(socket, 'connect');
  let received = '';
  const answered = new Promise<boolean>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) {
        return;
      }
      const length = /\r\ncontent-length: *(\d+)/i.exec(received.slice(0, end));
      if (received.length >= end + 4 + Number(length?.[1] ?? 0)) {
        resolve(true);
      }
    });
    socket.on('close', () => resolve(false));
  });
  const lines = Object.entries({ host: target.host, 'content-length': String(declared), ...headers }).map(
    ([k, v]) => `${k}: ${v}\r\n`
  );
  socket.write(`POST ${target.pathname} HTTP/1.1\r\n${lines.join('')}\r\n`);
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  const write = (n: number) =>
    new Promise<boolean>((resolve) => {
      if (error !== undefined || socket.destroyed) {
        return resolve(false);
      }
      socket.write(chunk.subarray(0, n), (err) => {
        if (err) {
          error ??= (err as NodeJS.ErrnoException).code ?? err.message;
        } else {
          sent += n;
        }
        resolve(!err);
      });
    });
  await write(Math.min(chunk.length, declared));
  await Promise.race([answered, sleep(300)]);
  while (sent < declared) {
    if (!(await write(Math.min(chunk.length, declared - sent)))) {
      break;
    }
  }
  await Promise.race([answered, sleep(5_000)]);
  // Give a reset caused by the last writes the time to arrive.
  await sleep(100);
  socket.destroy();
  const head = received.slice(0, Math.max(0, received.indexOf('\r\n\r\n')));
  return { head, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), sent, error };
}
