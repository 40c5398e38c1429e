/**
 * How the collector, run as users run it (`node dist/main.js`), answers bad OTLP/HTTP requests: the
 * status code, the Content-Type, a google.rpc.Status body in the request's encoding with a message that
 * says what is wrong, and the footfall_collector_requests_total{code,reason,encoding} self-metric. The
 * process must survive all of it without losing a point it had already accepted.
 */
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCollector, type CollectorProcess } from './support/collector.ts';
import { scrape, sumOf } from './support/exposition.ts';
import { exportRequest, PANEL_RESOURCE, sessionsMetric, sessionsRequest } from './support/otlp.ts';
import {
  decodeJsonResponse,
  decodeProtobufResponse,
  decodeStatus,
  loadOtlpTypes,
  mediaTypeOf,
  RPC,
  send,
  toJson,
  toProtobuf,
  type HttpResult,
  type SendOptions,
  uploadLargeBody,
} from './support/requests.ts';

const LIMIT = 16 * 1024;
const SESSIONS = 'grafana_analytics_sessions_total';
const JSON_TYPE = { 'content-type': 'application/json' } as const;
const PROTOBUF_TYPE = { 'content-type': 'application/x-protobuf' } as const;
const types = loadOtlpTypes();

type Encoding = 'json' | 'protobuf' | 'unknown';

interface Refusal {
  readonly status: number;
  readonly rpc: number;
  readonly reason: string;
  /** The request's encoding as the self-metric labels it; the answer is JSON unless it is protobuf. */
  readonly encoding: Encoding;
  readonly message: RegExp;
}

/** A JSON body of exactly `size` bytes: a valid request padded with insignificant whitespace. */
function jsonOfSize(uid: string, size: number): Buffer {
  const json = JSON.stringify(sessionsRequest([{ uid, value: 1 }]));
  if (json.length > size) {
    throw new Error('size too small for a request');
  }
  return Buffer.from(json + ' '.repeat(size - json.length));
}

/** A fixed pseudo-random byte string (LCG), so a failure reproduces. */
function pseudoRandomBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Peak resident memory of a process (Linux), in bytes. */
function peakRss(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) {
    throw new Error('no VmHWM in /proc status');
  }
  return Number(match[1]) * 1024;
}

describe('HTTP errors of a collector process', () => {
  let dir: string;
  let proc: CollectorProcess;
  let endpoint: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'footfall-http-errors-'));
    const config = join(dir, 'collector.yaml');
    writeFileSync(config, `server:\n  maxBodyBytes: ${LIMIT}\n`);
    proc = await spawnCollector(['--config', config]);
    endpoint = `${proc.url}/v1/metrics`;
  });

  afterAll(async () => {
    await proc?.stop();
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  async function requestsCounted(code: number, reason: string, encoding: Encoding): Promise<number> {
    const { samples } = await scrape(proc.url);
    return sumOf(samples, 'footfall_collector_requests_total', { code: String(code), reason, encoding });
  }

  async function sessionsOf(uid: string): Promise<number> {
    return sumOf((await scrape(proc.url)).samples, SESSIONS, { dashboard_uid: uid });
  }

  /** Sends, then checks the answer and that exactly this request was counted with its code and reason. */
  async function expectRefused(options: SendOptions, expected: Refusal): Promise<HttpResult> {
    const before = await requestsCounted(expected.status, expected.reason, expected.encoding);
    const res = await send(endpoint, options);
    expect(res.status, res.body.toString('utf8')).toBe(expected.status);
    expect(mediaTypeOf(res)).toBe(expected.encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json');
    const status = decodeStatus(res, types);
    expect(status.code).toBe(expected.rpc);
    expect(status.message).toMatch(expected.message);
    expect(await requestsCounted(expected.status, expected.reason, expected.encoding)).toBe(before + 1);
    return res;
  }

  describe('successful exports', () => {
    it('answers a JSON export with 200 and {}', async () => {
      const before = await requestsCounted(200, 'ok', 'json');
      const res = await send(endpoint, {
        headers: JSON_TYPE,
        body: toJson(sessionsRequest([{ uid: 'ok-json', value: 3 }])),
      });
      expect(res.status).toBe(200);
      expect(mediaTypeOf(res)).toBe('application/json');
      expect(JSON.parse(res.body.toString('utf8'))).toEqual({});
      expect(await requestsCounted(200, 'ok', 'json')).toBe(before + 1);
      expect(await sessionsOf('ok-json')).toBe(3);
    });

    it('answers a protobuf export with 200, an empty body and application/x-protobuf', async () => {
      const before = await requestsCounted(200, 'ok', 'protobuf');
      const res = await send(endpoint, {
        headers: PROTOBUF_TYPE,
        body: toProtobuf(sessionsRequest([{ uid: 'ok-protobuf', value: 4 }]), types),
      });
      expect(res.status).toBe(200);
      expect(mediaTypeOf(res)).toBe('application/x-protobuf');
      expect(res.body.length).toBe(0);
      expect(await requestsCounted(200, 'ok', 'protobuf')).toBe(before + 1);
      expect(await sessionsOf('ok-protobuf')).toBe(4);
    });

    it('answers a partly refused protobuf export with an ExportMetricsServiceResponse carrying the partial success', async () => {
      const request = exportRequest(
        [
          sessionsMetric([{ uid: 'partial-protobuf', value: 5 }]),
          sessionsMetric(
            [
              { uid: 'partial-protobuf', value: 1 },
              { uid: 'partial-protobuf', value: 2 },
            ],
            'grafana.dashboard.unknown'
          ),
        ],
        PANEL_RESOURCE
      );
      const before = await requestsCounted(200, 'partial', 'protobuf');
      const res = await send(endpoint, { headers: PROTOBUF_TYPE, body: toProtobuf(request, types) });
      expect(res.status).toBe(200);
      expect(mediaTypeOf(res)).toBe('application/x-protobuf');
      const { partialSuccess } = decodeProtobufResponse(res.body, types);
      expect(partialSuccess?.rejectedDataPoints).toBe(2);
      expect(partialSuccess?.errorMessage).toMatch(/"grafana\.dashboard\.unknown" is not in the catalog/);
      expect(await requestsCounted(200, 'partial', 'protobuf')).toBe(before + 1);
      // The valid metric beside it still counts.
      expect(await sessionsOf('partial-protobuf')).toBe(5);
    });

    it('answers a partly refused JSON export with a JSON partial success', async () => {
      const res = await send(endpoint, {
        headers: JSON_TYPE,
        body: toJson(sessionsRequest([{ uid: 'partial-json', value: 1 }], 'not.in.catalog')),
      });
      expect(res.status).toBe(200);
      expect(mediaTypeOf(res)).toBe('application/json');
      const body = decodeJsonResponse(res.body);
      expect(Number(body.partialSuccess?.rejectedDataPoints)).toBe(1);
      expect(body.partialSuccess?.errorMessage).toMatch(/"not\.in\.catalog" is not in the catalog/);
      expect(await sessionsOf('partial-json')).toBe(0);
    });
  });

  describe('malformed bodies: 400', () => {
    it('refuses malformed JSON', async () => {
      await expectRefused(
        { headers: JSON_TYPE, body: '{"resourceMetrics": [{"scopeMetrics": [' },
        { status: 400, rpc: RPC.INVALID_ARGUMENT, reason: 'malformed_body', encoding: 'json', message: /invalid JSON/ }
      );
    });

    it('refuses an empty JSON body', async () => {
      await expectRefused(
        { headers: JSON_TYPE, body: '' },
        { status: 400, rpc: RPC.INVALID_ARGUMENT, reason: 'malformed_body', encoding: 'json', message: /invalid JSON/ }
      );
    });

    it('refuses random bytes sent as protobuf, answering in protobuf', async () => {
      const garbage = pseudoRandomBytes(512, 0xf00f);
      expect(() => types.Request.decode(garbage)).toThrow(); // the input really is undecodable
      await expectRefused(
        { headers: PROTOBUF_TYPE, body: garbage },
        {
          status: 400,
          rpc: RPC.INVALID_ARGUMENT,
          reason: 'malformed_body',
          encoding: 'protobuf',
          message: /invalid protobuf/,
        }
      );
    });

    it('refuses a truncated protobuf message, and counts none of its points', async () => {
      const whole = toProtobuf(
        sessionsRequest([
          { uid: 'truncated', value: 9 },
          { uid: 'truncated', value: 9 },
        ]),
        types
      );
      const truncated = whole.subarray(0, Math.floor(whole.length * 0.6));
      expect(() => types.Request.decode(truncated)).toThrow();
      await expectRefused(
        { headers: PROTOBUF_TYPE, body: truncated },
        {
          status: 400,
          rpc: RPC.INVALID_ARGUMENT,
          reason: 'malformed_body',
          encoding: 'protobuf',
          message: /invalid protobuf/,
        }
      );
      expect(await sessionsOf('truncated')).toBe(0);
    });

    it('refuses JSON whose resourceMetrics is not an array, naming the field', async () => {
      await expectRefused(
        { headers: JSON_TYPE, body: JSON.stringify({ resourceMetrics: { scopeMetrics: [] } }) },
        {
          status: 400,
          rpc: RPC.INVALID_ARGUMENT,
          reason: 'malformed_body',
          encoding: 'json',
          message: /^resourceMetrics must be an array$/,
        }
      );
    });

    it('refuses JSON with a deep field of the wrong type, naming its full path, and counts nothing of the request', async () => {
      const request = exportRequest(
        [
          sessionsMetric([{ uid: 'wrong-shape', value: 2 }]),
          {
            name: 'grafana.dashboard.sessions',
            sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ asInt: 'many' }] },
          },
        ],
        PANEL_RESOURCE
      );
      await expectRefused(
        { headers: JSON_TYPE, body: toJson(request) },
        {
          status: 400,
          rpc: RPC.INVALID_ARGUMENT,
          reason: 'malformed_body',
          encoding: 'json',
          message:
            /resourceMetrics\[0\]\.scopeMetrics\[0\]\.metrics\[1\]\.sum\.dataPoints\[0\]\.asInt must be an integer/,
        }
      );
      expect(await sessionsOf('wrong-shape')).toBe(0);
    });

    it('refuses a body that is not gzip although Content-Encoding says so', async () => {
      await expectRefused(
        {
          headers: { ...JSON_TYPE, 'content-encoding': 'gzip' },
          body: toJson(sessionsRequest([{ uid: 'not-gzip', value: 1 }])),
        },
        {
          status: 400,
          rpc: RPC.INVALID_ARGUMENT,
          reason: 'malformed_body',
          encoding: 'json',
          message: /invalid compressed body/,
        }
      );
      expect(await sessionsOf('not-gzip')).toBe(0);
    });

    it('refuses a truncated gzip stream', async () => {
      const gz = gzipSync(toProtobuf(sessionsRequest([{ uid: 'cut-gzip', value: 1 }]), types));
      await expectRefused(
        { headers: { ...PROTOBUF_TYPE, 'content-encoding': 'gzip' }, body: gz.subarray(0, gz.length - 12) },
        {
          status: 400,
          rpc: RPC.INVALID_ARGUMENT,
          reason: 'malformed_body',
          encoding: 'protobuf',
          message: /invalid compressed body/,
        }
      );
      expect(await sessionsOf('cut-gzip')).toBe(0);
    });
  });

  describe('unsupported media: 415', () => {
    it('refuses text/plain, naming the accepted types', async () => {
      await expectRefused(
        { headers: { 'content-type': 'text/plain' }, body: toJson(sessionsRequest([{ uid: 'text', value: 1 }])) },
        {
          status: 415,
          rpc: RPC.INVALID_ARGUMENT,
          reason: 'unsupported_media_type',
          encoding: 'unknown',
          message: /"text\/plain".*application\/json.*application\/x-protobuf/,
        }
      );
      expect(await sessionsOf('text')).toBe(0);
    });

    it('refuses a request without Content-Type', async () => {
      await expectRefused(
        { body: toJson(sessionsRequest([{ uid: 'untyped', value: 1 }])) },
        {
          status: 415,
          rpc: RPC.INVALID_ARGUMENT,
          reason: 'unsupported_media_type',
          encoding: 'unknown',
          message: /content type/,
        }
      );
    });

    it('refuses an unknown Content-Encoding (br), answering in the request encoding', async () => {
      const request = sessionsRequest([{ uid: 'brotli', value: 1 }]);
      await expectRefused(
        { headers: { ...JSON_TYPE, 'content-encoding': 'br' }, body: toJson(request) },
        {
          status: 415,
          rpc: RPC.INVALID_ARGUMENT,
          reason: 'unsupported_encoding',
          encoding: 'json',
          message: /"br".*gzip/,
        }
      );
      await expectRefused(
        { headers: { ...PROTOBUF_TYPE, 'content-encoding': 'br' }, body: toProtobuf(request, types) },
        {
          status: 415,
          rpc: RPC.INVALID_ARGUMENT,
          reason: 'unsupported_encoding',
          encoding: 'protobuf',
          message: /"br".*gzip/,
        }
      );
      expect(await sessionsOf('brotli')).toBe(0);
    });
  });

  describe(`body size limit (server.maxBodyBytes: ${LIMIT}): 413`, () => {
    const tooLarge = {
      status: 413,
      rpc: RPC.RESOURCE_EXHAUSTED,
      reason: 'payload_too_large',
      message: new RegExp(`exceeds ${LIMIT} bytes`),
    };

    it('takes a body of exactly the limit and refuses one byte more', async () => {
      const ok = await send(endpoint, { headers: JSON_TYPE, body: jsonOfSize('at-limit', LIMIT) });
      expect(ok.status).toBe(200);
      expect(await sessionsOf('at-limit')).toBe(1);
      await expectRefused(
        { headers: JSON_TYPE, body: jsonOfSize('over-limit', LIMIT + 1) },
        { ...tooLarge, encoding: 'json' }
      );
      expect(await sessionsOf('over-limit')).toBe(0);
    });

    it('lets a fast client sending a large body finish its upload and read the 413 (no reset under it)', async () => {
      // A client still uploading when the early 413 comes (the usual case for a body of megabytes)
      // only sees the answer if the server keeps reading what was announced instead of resetting the
      // connection (RFC 9112 §9.6, lingering close). A reset is EPIPE/ECONNRESET to the client, which
      // OTLP exporters retry: the same too-large batch again and again instead of a final 413.
      const before = await requestsCounted(413, 'payload_too_large', 'json');
      const upload = await uploadLargeBody(endpoint, JSON_TYPE, 4 * 1024 * 1024);
      expect(upload.status, upload.head).toBe(413);
      expect({ error: upload.error, sent: upload.sent }).toEqual({ error: undefined, sent: 4 * 1024 * 1024 });
      expect(await requestsCounted(413, 'payload_too_large', 'json')).toBe(before + 1);
    });

    it('refuses a large protobuf body, answering in protobuf', async () => {
      const points = Array.from({ length: 1000 }, (_, i) => ({ uid: `big-${i}`, value: 1 }));
      const body = toProtobuf(sessionsRequest(points), types);
      expect(body.length).toBeGreaterThan(LIMIT);
      await expectRefused({ headers: PROTOBUF_TYPE, body }, { ...tooLarge, encoding: 'protobuf' });
      expect(await sessionsOf('big-0')).toBe(0);
    });

    it('applies the limit after decompression', async () => {
      const ok = await send(endpoint, {
        headers: { ...JSON_TYPE, 'content-encoding': 'gzip' },
        body: gzipSync(jsonOfSize('gz-at-limit', LIMIT)),
      });
      expect(ok.status).toBe(200);
      expect(await sessionsOf('gz-at-limit')).toBe(1);
      const small = gzipSync(jsonOfSize('gz-over-limit', LIMIT + 1));
      expect(small.length).toBeLessThan(LIMIT / 10);
      await expectRefused(
        { headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, body: small },
        { ...tooLarge, encoding: 'json' }
      );
      expect(await sessionsOf('gz-over-limit')).toBe(0);
    });

    it('refuses a gzip bomb (20 MB of zeros) quickly, without inflating it', async () => {
      const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024));
      expect(bomb.length).toBeLessThan(64 * 1024);
      const peakBefore = peakRss(proc.child.pid!);
      const res = await expectRefused(
        { headers: { ...PROTOBUF_TYPE, 'content-encoding': 'gzip' }, body: bomb },
        { ...tooLarge, encoding: 'protobuf' }
      );
      expect(res.ms).toBeLessThan(1_000);
      // Inflating the whole bomb would hold 20 MB (twice, once concatenated) in the collector.
      expect(peakRss(proc.child.pid!) - peakBefore).toBeLessThan(10 * 1024 * 1024);
    });
  });

  describe('methods other than POST: 405', () => {
    for (const method of ['GET', 'PUT'] as const) {
      it(`answers ${method} /v1/metrics with 405 and Allow: POST`, async () => {
        const res = await expectRefused(
          method === 'PUT'
            ? { method, headers: JSON_TYPE, body: toJson(sessionsRequest([{ uid: 'put', value: 1 }])) }
            : { method },
          {
            status: 405,
            rpc: RPC.UNIMPLEMENTED,
            reason: 'method_not_allowed',
            // Answered in the request's encoding when it names one.
            encoding: method === 'PUT' ? 'json' : 'unknown',
            message: new RegExp(`method ${method} is not allowed; use POST`),
          }
        );
        expect(res.headers.allow).toBe('POST');
        expect(await sessionsOf('put')).toBe(0);
      });
    }
  });

  it('loses nothing it had accepted when a burst of bad requests follows', async () => {
    await send(endpoint, { headers: JSON_TYPE, body: toJson(sessionsRequest([{ uid: 'survivor', value: 7 }])) });
    await send(endpoint, {
      headers: { ...PROTOBUF_TYPE, 'content-encoding': 'gzip' },
      body: gzipSync(toProtobuf(sessionsRequest([{ uid: 'survivor', value: 11 }]), types)),
    });
    const before = await scrape(proc.url);
    expect(sumOf(before.samples, SESSIONS, { dashboard_uid: 'survivor' })).toBe(18);
    const accepted = sumOf(before.samples, 'footfall_collector_points_accepted_total');
    const refusedRequests = (samples: typeof before.samples) =>
      samples
        .filter((s) => s.name === 'footfall_collector_requests_total' && s.labels.code !== '200')
        .reduce((n, s) => n + s.value, 0);

    const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024));
    const valid = toProtobuf(sessionsRequest([{ uid: 'survivor', value: 1000 }]), types);
    const bad: Array<[SendOptions, number]> = [
      [{ headers: JSON_TYPE, body: '{"resourceMetrics": [' }, 400],
      [{ headers: PROTOBUF_TYPE, body: pseudoRandomBytes(300, 7) }, 400],
      [{ headers: PROTOBUF_TYPE, body: valid.subarray(0, valid.length - 5) }, 400],
      [{ headers: JSON_TYPE, body: JSON.stringify({ resourceMetrics: 'all of them' }) }, 400],
      [{ headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, body: 'plain text' }, 400],
      [{ headers: { 'content-type': 'text/plain' }, body: 'hello' }, 415],
      [{ headers: { ...PROTOBUF_TYPE, 'content-encoding': 'br' }, body: valid }, 415],
      [{ headers: JSON_TYPE, body: jsonOfSize('survivor', LIMIT + 100) }, 413],
      [{ headers: { ...PROTOBUF_TYPE, 'content-encoding': 'gzip' }, body: bomb }, 413],
      [{ method: 'PUT', headers: PROTOBUF_TYPE, body: valid }, 405],
      [{ method: 'GET' }, 405],
    ];
    const burst = Array.from({ length: 5 }, () => bad).flat();
    const results = await Promise.all(burst.map(([options]) => send(endpoint, options)));
    expect(results.map((r) => r.status)).toEqual(burst.map(([, status]) => status));

    const after = await scrape(proc.url);
    expect(sumOf(after.samples, SESSIONS, { dashboard_uid: 'survivor' })).toBe(18);
    expect(sumOf(after.samples, 'footfall_collector_points_accepted_total')).toBe(accepted);
    expect(refusedRequests(after.samples) - refusedRequests(before.samples)).toBe(burst.length);
    // And it keeps accepting.
    const res = await send(endpoint, {
      headers: JSON_TYPE,
      body: toJson(sessionsRequest([{ uid: 'survivor', value: 2 }])),
    });
    expect(res.status).toBe(200);
    expect(await sessionsOf('survivor')).toBe(20);
  });

  it('is still alive and healthy at the end, and logged no internal error', async () => {
    expect(proc.child.exitCode).toBeNull();
    expect(proc.child.signalCode).toBeNull();
    const health = await fetch(`${proc.url}/healthz`);
    expect(health.status).toBe(200);
    const errors = proc.output.filter((line) => {
      try {
        return (JSON.parse(line) as { level?: number }).level! >= 50;
      } catch {
        return false;
      }
    });
    expect(errors).toEqual([]);
  });
});

describe('server.metricsListen: /metrics on a listener of its own', () => {
  let dir: string;
  let proc: CollectorProcess;
  let metricsUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'footfall-metrics-listen-'));
    const config = join(dir, 'collector.yaml');
    writeFileSync(config, 'server:\n  metricsListen: 127.0.0.1:0\n');
    proc = await spawnCollector(['--config', config]);
    const line = proc.output
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; address?: string })
      .find((e) => e.msg === 'serving /metrics on its own listener');
    expect(line?.address, proc.output.join('\n')).toMatch(/^127\.0\.0\.1:\d+$/);
    metricsUrl = `http://${line!.address!}`;
  });

  afterAll(async () => {
    await proc?.stop();
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('splits the routes: exports and probes on the ingest listener, /metrics and probes on the metrics listener, 404 for the rest', async () => {
    const exported = await send(`${proc.url}/v1/metrics`, {
      headers: JSON_TYPE,
      body: toJson(sessionsRequest([{ uid: 'split', value: 2 }])),
    });
    expect(exported.status).toBe(200);
    expect((await send(`${proc.url}/metrics`, { method: 'GET' })).status, 'GET /metrics on the ingest listener').toBe(
      404
    );
    expect(
      (
        await send(`${metricsUrl}/v1/metrics`, {
          headers: JSON_TYPE,
          body: toJson(sessionsRequest([{ uid: 'split', value: 1 }])),
        })
      ).status
    ).toBe(404);
    for (const url of [proc.url, metricsUrl]) {
      expect((await send(`${url}/healthz`, { method: 'GET' })).status, `${url}/healthz`).toBe(200);
      expect((await send(`${url}/readyz`, { method: 'GET' })).status, `${url}/readyz`).toBe(200);
    }
    const { samples } = await scrape(metricsUrl);
    expect(sumOf(samples, SESSIONS, { dashboard_uid: 'split' })).toBe(2);
    expect(sumOf(samples, 'footfall_collector_requests_total', { code: '200', reason: 'ok' })).toBe(1);
  });

  it('closes both listeners on SIGTERM, a scrape connection kept alive included, and exits 0 promptly', async () => {
    const agent = new Agent({ keepAlive: true });
    try {
      const scraped = await new Promise<number>((resolve, reject) => {
        request(`${metricsUrl}/metrics`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
          .on('error', reject)
          .end();
      });
      expect(scraped).toBe(200);
      const started = performance.now();
      expect(await proc.stop()).toBe(0);
      expect(performance.now() - started, 'ms from SIGTERM to exit (the shutdown deadline is 10 s)').toBeLessThan(
        3_000
      );
      for (const url of [proc.url, metricsUrl]) {
        await expect(send(`${url}/healthz`, { method: 'GET' }), url).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      }
    } finally {
      agent.destroy();
    }
  });
});
