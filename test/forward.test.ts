/**
 * The forward stage end to end: collector A forwards what it aggregated (OTLP/HTTP protobuf, gzip,
 * DELTA) to collector B, standing in for the upstream OTel Collector (whose binary is not in the
 * registries these machines reach). B's /metrics must equal A's, exactly, series by series, through an
 * upstream outage; and no personal attribute may cross.
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCollector, type CollectorProcess } from './support/collector.ts';
import { scrape, sumOf, type Sample } from './support/exposition.ts';
import { attrs, deltaHistogram, deltaSum, exportRequest, PANEL_RESOURCE, type ExportRequest } from './support/otlp.ts';
import { pollUntil } from './support/prometheus.ts';
import { loadOtlpTypes, postJson, rejectedPoints } from './support/requests.ts';

const SECRET = 'forward-test-secret-0123456789';
const PERSONAL = { login: 'fwd-alice-7f3a', name: 'Alice Forward-Marker', email: 'fwd.alice@corp.example', id: 90210 };

function user(role: string): Array<readonly [string, string | number]> {
  return [
    ['user.role', role],
    ['user.login', PERSONAL.login],
    ['user.name', PERSONAL.name],
    ['user.email', PERSONAL.email],
    ['user.id', PERSONAL.id],
  ];
}

const OPS = [['dashboard.uid', 'd-ops'], ['dashboard.name', 'Ops "overview"'], ['grafana.host', 'grafana.example.com'], ...user('Viewer')] as const;
const SALES = [['dashboard.uid', 'd-sales'], ['dashboard.name', 'Sales'], ['grafana.host', 'grafana.example.com'], ...user('Editor')] as const;

/** One browser export; values are multiples of 1/4, so sums are exact. */
function workload(round: number): ExportRequest {
  return exportRequest(
    [
      deltaSum('grafana.dashboard.sessions', [
        { value: 1 + round, attributes: attrs(OPS) },
        { value: 2, attributes: attrs(SALES) },
      ]),
      deltaSum('grafana.dashboard.engaged_time', [
        { value: 12.5, attributes: attrs([...OPS, ['engagement.state', 'focused']]) },
        { value: 30.25, attributes: attrs([...SALES, ['engagement.state', 'hidden']]) },
      ]),
      deltaSum('grafana.dashboard.variable.selections', [
        { value: 1, attributes: attrs([...OPS, ['variable.name', 'owner'], ['variable.value', PERSONAL.email]]) },
      ]),
      deltaHistogram('grafana.dashboard.session.duration', [{ observations: [42.5, 7 + round, 3600.25], attributes: attrs(OPS) }]),
    ],
    PANEL_RESOURCE,
  );
}

/**
 * The catalog's series (what users query), without the collector's own health, summed over user_hash:
 * B never believes a pseudonym a sender brings (only its own privacy stage makes one), so it keeps the
 * counts and drops the label.
 */
function catalogSeries(samples: readonly Sample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name.startsWith('footfall_collector_') || s.name === 'target_info') continue;
    const key = `${s.name}${JSON.stringify(Object.entries(s.labels).filter(([k]) => k !== 'user_hash').sort())}`;
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

/** Between A and B: records what A sends, and can play an upstream that is down (503, Retry-After: 1). */
interface Recorder {
  readonly url: string;
  readonly bodies: Buffer[];
  statuses: number[];
  failNext: number;
  close(): Promise<void>;
}

async function startRecorder(upstream: string): Promise<Recorder> {
  const recorder: Recorder = { url: '', bodies: [], statuses: [], failNext: 0, close: async () => undefined };
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      recorder.bodies.push(req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body);
      if (recorder.failNext > 0) {
        recorder.failNext--;
        recorder.statuses.push(503);
        res.writeHead(503, { 'Retry-After': '1', 'Content-Type': 'text/plain' }).end('upstream down\n');
        return;
      }
      const { host: _host, ...headers } = req.headers;
      const forwarded = request(`${upstream}/v1/metrics`, { method: 'POST', headers }, (answer) => {
        recorder.statuses.push(answer.statusCode ?? 0);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forwarded.on('error', () => res.writeHead(502).end());
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(recorder, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

describe('forwarding to an upstream (collector A → collector B)', () => {
  let a: CollectorProcess;
  let b: CollectorProcess;
  let recorder: Recorder;
  const types = loadOtlpTypes();

  beforeAll(async () => {
    b = await spawnCollector();
    recorder = await startRecorder(b.url);
    const dir = mkdtempSync(join(tmpdir(), 'footfall-forward-'));
    const config = join(dir, 'collector.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        privacy: { hash: { enabled: true } },
        forward: { endpoint: `${recorder.url}/v1/metrics`, temporality: 'delta', intervalSeconds: 1, timeoutSeconds: 8 },
      }),
    );
    a = await spawnCollector(['--config', config], { FOOTFALL_HASH_SECRET: SECRET });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await recorder?.close();
  });

  it('B ends up with exactly the series A has, through a short upstream outage the retries ride out', async () => {
    for (let round = 0; round < 3; round++) {
      expect(rejectedPoints(await postJson(a.url, workload(round)))).toBe(0);
      if (round === 0) {
        // Let one forward go through, then take the upstream down for two attempts: the exporter's
        // retries (honouring Retry-After: 1) outlast that.
        await pollUntil(async () => recorder.statuses.filter((s) => s === 200).length, (n) => n > 0, 10_000, 100);
        recorder.failNext = 2;
      }
    }
    const expected = catalogSeries((await scrape(a.url)).samples);
    expect(Object.keys(expected).length).toBeGreaterThan(8);
    const got = await pollUntil(
      async () => catalogSeries((await scrape(b.url)).samples),
      (series) => JSON.stringify(series) === JSON.stringify(expected),
      20_000,
      250,
    ).catch(async () => catalogSeries((await scrape(b.url)).samples));
    const differences = Object.keys({ ...expected, ...got })
      .filter((k) => expected[k] !== got[k])
      .map((k) => `${k}: A has ${expected[k]}, B has ${got[k]}`);
    expect(differences, differences.join('\n')).toEqual([]);
    expect(recorder.statuses.filter((s) => s === 503).length, 'the upstream outage happened').toBeGreaterThan(0);
    const own = (await scrape(a.url)).samples;
    expect(sumOf(own, 'footfall_collector_forward_exports_total', { result: 'ok' })).toBeGreaterThan(1);
    expect(sumOf(own, 'footfall_collector_forward_exports_total', { result: 'failed' }), 'nothing failed for good').toBe(0);
    expect(sumOf((await scrape(b.url)).samples, 'footfall_collector_points_refused_total'), 'B refused nothing').toBe(0);
  });

  it('an export the upstream never takes is counted, never silently dropped', async () => {
    recorder.failNext = 1_000;
    expect(rejectedPoints(await postJson(a.url, workload(7)))).toBe(0);
    const failed = await pollUntil(
      async () => sumOf((await scrape(a.url)).samples, 'footfall_collector_forward_points_failed_total'),
      (n) => n > 0,
      25_000,
      250,
    );
    expect(failed).toBeGreaterThanOrEqual(1);
    expect(sumOf((await scrape(a.url)).samples, 'footfall_collector_forward_exports_total', { result: 'failed' })).toBeGreaterThanOrEqual(1);
    recorder.failNext = 0;
  }, 40_000);

  it('the pseudonym crosses, the person does not: no login, name, e-mail or id in any forwarded body', async () => {
    expect(recorder.bodies.length).toBeGreaterThan(0);
    const pseudonym = createHmac('sha256', SECRET).update(PERSONAL.login).digest('hex').slice(0, 16);
    let sawPseudonym = false;
    for (const body of recorder.bodies) {
      const text = JSON.stringify(types.Request.toObject(types.Request.decode(body), { longs: String }));
      for (const marker of [PERSONAL.login, PERSONAL.name, PERSONAL.email, String(PERSONAL.id), 'fwd.alice', 'corp.example']) {
        expect(text, `a forwarded body carries ${marker}`).not.toContain(marker);
      }
      expect(text).not.toMatch(/"key":"user[._](login|name|email|id)"/i);
      if (text.includes(pseudonym)) sawPseudonym = true;
    }
    expect(sawPseudonym, 'the keyed user hash is forwarded (the check above looked at real bodies)').toBe(true);
    // Not the hash of the raw id or a plain digest either.
    const plain = createHash('sha256').update(PERSONAL.login).digest('hex').slice(0, 16);
    expect(recorder.bodies.some((body) => body.toString('latin1').includes(plain))).toBe(false);
  });

  it("the collector's own health and the derived legacy series stay local", async () => {
    const names = new Set<string>();
    for (const body of recorder.bodies) {
      const message = types.Request.toObject(types.Request.decode(body)) as {
        resourceMetrics?: Array<{ scopeMetrics?: Array<{ metrics?: Array<{ name: string }> }> }>;
      };
      for (const rm of message.resourceMetrics ?? []) for (const sm of rm.scopeMetrics ?? []) for (const m of sm.metrics ?? []) names.add(m.name);
    }
    expect([...names].filter((n) => n.startsWith('footfall_collector_'))).toEqual([]);
    expect(names.has('grafana_analytics_sessions_duration_seconds_total')).toBe(false);
    expect(names.has('grafana_analytics_sessions_total')).toBe(true);
  });
});

describe('forwarding at shutdown', () => {
  it('SIGTERM flushes what was not forwarded yet, within the shutdown budget', async () => {
    const upstream = await spawnCollector();
    const dir = mkdtempSync(join(tmpdir(), 'footfall-forward-'));
    const config = join(dir, 'collector.yaml');
    // An interval far longer than the test: only the flush at shutdown can deliver.
    writeFileSync(config, JSON.stringify({ forward: { endpoint: `${upstream.url}/v1/metrics`, temporality: 'delta', intervalSeconds: 3600 } }));
    const sender = await spawnCollector(['--config', config]);
    try {
      expect(rejectedPoints(await postJson(sender.url, workload(0)))).toBe(0);
      const expected = catalogSeries((await scrape(sender.url)).samples);
      const started = performance.now();
      expect(await sender.stop()).toBe(0);
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(catalogSeries((await scrape(upstream.url)).samples)).toEqual(expected);
    } finally {
      await sender.stop();
      await upstream.stop();
    }
  });
});
