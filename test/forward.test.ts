/**
 * The forward stage end to end: collector A forwards what it aggregated (OTLP/HTTP protobuf, gzip,
 * DELTA) to collector B, standing in for the upstream OTel Collector (whose binary is not in the
 * registries these machines reach). B's /metrics must equal A's, exactly, series by series, through a
 * short upstream outage the retries ride out and a long one the queue rides out; and no personal
 * attribute may cross.
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCollector, type CollectorProcess } from './support/collector.ts';
import { catalogSeries, scrape, sumOf, type Sample } from './support/exposition.ts';
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

const OPS = [
  ['dashboard.uid', 'd-ops'],
  ['dashboard.name', 'Ops "overview"'],
  ['grafana.host', 'grafana.example.com'],
  ...user('Viewer'),
] as const;
const SALES = [
  ['dashboard.uid', 'd-sales'],
  ['dashboard.name', 'Sales'],
  ['grafana.host', 'grafana.example.com'],
  ...user('Editor'),
] as const;

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
      deltaHistogram('grafana.dashboard.session.duration', [
        { observations: [42.5, 7 + round, 3600.25], attributes: attrs(OPS) },
      ]),
    ],
    PANEL_RESOURCE
  );
}

/**
 * A collector's catalog series summed over user_hash: B never believes a pseudonym a sender brings
 * (only its own privacy stage makes one), so it keeps the counts and drops the label.
 */
const catalogOf = (samples: readonly Sample[]) => catalogSeries(samples, ['user_hash']);

/**
 * Between A and B: records what A sends, and can play an upstream that is down (503, Retry-After: 1).
 * Without B, it is the upstream: it takes everything (200, an empty response).
 */
interface Recorder {
  readonly url: string;
  readonly bodies: Buffer[];
  statuses: number[];
  failNext: number;
  close(): Promise<void>;
}

async function startRecorder(upstream?: string): Promise<Recorder> {
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
      if (upstream === undefined) {
        recorder.statuses.push(200);
        res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
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
  /** B's catalog series once they equal `expected`, or as they are after 20 s. */
  const catalogOfB = (expected: Record<string, number>) =>
    pollUntil(
      async () => catalogOf((await scrape(b.url)).samples),
      (series) => JSON.stringify(series) === JSON.stringify(expected),
      20_000,
      250
    ).catch(async () => catalogOf((await scrape(b.url)).samples));

  beforeAll(async () => {
    b = await spawnCollector();
    recorder = await startRecorder(b.url);
    const dir = mkdtempSync(join(tmpdir(), 'footfall-forward-'));
    const config = join(dir, 'collector.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        privacy: { hash: { enabled: true } },
        forward: {
          endpoint: `${recorder.url}/v1/metrics`,
          temporality: 'delta',
          intervalSeconds: 1,
          timeoutSeconds: 8,
        },
      })
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
        await pollUntil(
          async () => recorder.statuses.filter((s) => s === 200).length,
          (n) => n > 0,
          10_000,
          100
        );
        recorder.failNext = 2;
      }
    }
    const expected = catalogOf((await scrape(a.url)).samples);
    expect(Object.keys(expected).length).toBeGreaterThan(8);
    const got = await catalogOfB(expected);
    const differences = Object.keys({ ...expected, ...got })
      .filter((k) => expected[k] !== got[k])
      .map((k) => `${k}: A has ${expected[k]}, B has ${got[k]}`);
    expect(differences, differences.join('\n')).toEqual([]);
    expect(recorder.statuses.filter((s) => s === 503).length, 'the upstream outage happened').toBeGreaterThan(0);
    const own = (await scrape(a.url)).samples;
    expect(sumOf(own, 'footfall_collector_forward_exports_total', { result: 'ok' })).toBeGreaterThan(1);
    expect(
      sumOf(own, 'footfall_collector_forward_exports_total', { result: 'failed' }),
      'nothing failed for good'
    ).toBe(0);
    expect(sumOf((await scrape(b.url)).samples, 'footfall_collector_points_refused_total'), 'B refused nothing').toBe(
      0
    );
  });

  it('an outage past the retries: the exports are counted failed, their points queued, and B gets them once it is back', async () => {
    recorder.failNext = 1_000;
    expect(rejectedPoints(await postJson(a.url, workload(7)))).toBe(0);
    const expected = catalogOf((await scrape(a.url)).samples);
    await pollUntil(
      async () =>
        sumOf((await scrape(a.url)).samples, 'footfall_collector_forward_exports_total', { result: 'failed' }),
      (n) => n >= 1,
      25_000,
      250
    );
    expect(sumOf((await scrape(a.url)).samples, 'footfall_collector_forward_queued_points')).toBeGreaterThan(0);
    recorder.failNext = 0;
    const got = await catalogOfB(expected);
    expect(got).toEqual(expected);
    const own = (await scrape(a.url)).samples;
    expect(sumOf(own, 'footfall_collector_forward_points_failed_total'), 'nothing lost').toBe(0);
    expect(sumOf(own, 'footfall_collector_forward_queued_points')).toBe(0);
  }, 60_000);

  it('the pseudonym crosses, the person does not: no login, name, e-mail or id in any forwarded body', async () => {
    expect(recorder.bodies.length).toBeGreaterThan(0);
    const pseudonym = createHmac('sha256', SECRET).update(PERSONAL.login).digest('hex').slice(0, 16);
    let sawPseudonym = false;
    for (const body of recorder.bodies) {
      const text = JSON.stringify(types.Request.toObject(types.Request.decode(body), { longs: String }));
      for (const marker of [
        PERSONAL.login,
        PERSONAL.name,
        PERSONAL.email,
        String(PERSONAL.id),
        'fwd.alice',
        'corp.example',
      ]) {
        expect(text, `a forwarded body carries ${marker}`).not.toContain(marker);
      }
      expect(text).not.toMatch(/"key":"user[._](login|name|email|id)"/i);
      if (text.includes(pseudonym)) {
        sawPseudonym = true;
      }
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
      for (const rm of message.resourceMetrics ?? []) {
        for (const sm of rm.scopeMetrics ?? []) {
          for (const m of sm.metrics ?? []) {
            names.add(m.name);
          }
        }
      }
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
    writeFileSync(
      config,
      JSON.stringify({
        forward: { endpoint: `${upstream.url}/v1/metrics`, temporality: 'delta', intervalSeconds: 3600 },
      })
    );
    const sender = await spawnCollector(['--config', config]);
    try {
      expect(rejectedPoints(await postJson(sender.url, workload(0)))).toBe(0);
      const expected = catalogOf((await scrape(sender.url)).samples);
      const started = performance.now();
      expect(await sender.stop()).toBe(0);
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(catalogOf((await scrape(upstream.url)).samples)).toEqual(expected);
    } finally {
      await sender.stop();
      await upstream.stop();
    }
  });
});

describe('two replicas forwarding to one upstream', () => {
  const types = loadOtlpTypes();
  type KeyValue = { key: string; value: { stringValue?: string } };
  type Points = { dataPoints?: Array<{ attributes?: KeyValue[] }> };
  type Message = {
    resourceMetrics?: Array<{
      resource?: { attributes?: KeyValue[] };
      scopeMetrics?: Array<{ metrics?: Array<{ name: string; sum?: Points; histogram?: Points }> }>;
    }>;
  };

  /** Per service.instance.id of the forwarded resource, the series (metric and labels) it carried. */
  function seriesByInstance(bodies: readonly Buffer[]): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const body of bodies) {
      const message = types.Request.toObject(types.Request.decode(body)) as Message;
      for (const rm of message.resourceMetrics ?? []) {
        const id = rm.resource?.attributes?.find((a) => a.key === 'service.instance.id')?.value.stringValue ?? '';
        const series = out.get(id) ?? new Set<string>();
        out.set(id, series);
        for (const sm of rm.scopeMetrics ?? []) {
          for (const m of sm.metrics ?? []) {
            for (const p of (m.sum ?? m.histogram)?.dataPoints ?? []) {
              series.add(
                `${m.name}${JSON.stringify((p.attributes ?? []).map((a) => [a.key, a.value.stringValue]).sort())}`
              );
            }
          }
        }
      }
    }
    return out;
  }

  it('their series are distinct upstream: each forwards under its own service.instance.id, kept across a restart; the pod name wins', async () => {
    const upstream = await startRecorder();
    const dir = mkdtempSync(join(tmpdir(), 'footfall-replicas-'));
    const stateOf = (name: string) => join(dir, `${name}.state.json`);
    // The gateway case: cumulative, each replica with its own state file.
    const replica = (name: string, env: Record<string, string> = {}) => {
      const config = join(dir, `${name}.yaml`);
      writeFileSync(
        config,
        JSON.stringify({
          state: { file: stateOf(name) },
          forward: { endpoint: `${upstream.url}/v1/metrics`, intervalSeconds: 1 },
        })
      );
      return spawnCollector(['--config', config], env);
    };
    /** The instances heard from since the recorder was last cleared, once `count` of them have forwarded series. */
    const instancesHeard = (count: number) =>
      pollUntil(
        async () => seriesByInstance(upstream.bodies),
        (seen) => [...seen.values()].filter((series) => series.size > 0).length >= count,
        15_000,
        100
      ).catch(() => seriesByInstance(upstream.bodies));
    const running = new Set<CollectorProcess>();
    try {
      const [r1, r2] = await Promise.all([replica('r1'), replica('r2')]);
      running.add(r1).add(r2);
      for (const r of [r1, r2]) {
        expect(rejectedPoints(await postJson(r.url, workload(0)))).toBe(0);
      }
      const seen = await instancesHeard(2);
      const ids = [...seen.keys()];
      expect(ids).toHaveLength(2);
      for (const id of ids) {
        expect(id).toMatch(/\S/);
      }
      // Both replicas carry the same series: only service.instance.id keeps them apart upstream.
      const [first, second] = ids.map((id) => [...seen.get(id)!].sort());
      expect(first!.length).toBeGreaterThan(3);
      expect(first).toEqual(second);

      // A restart with the same state file forwards under the same id.
      expect(await r1.stop()).toBe(0);
      running.delete(r1);
      const kept = (JSON.parse(readFileSync(stateOf('r1'), 'utf8')) as { instanceId?: string }).instanceId;
      expect(ids).toContain(kept);
      const other = ids.find((id) => id !== kept)!;
      upstream.bodies.length = 0;
      const restarted = await replica('r1');
      running.add(restarted);
      expect([...(await instancesHeard(2)).keys()].sort()).toEqual([kept, other].sort());

      // FOOTFALL_INSTANCE_ID (forward.instanceId; the Helm chart sets it to the pod name) wins over the kept id.
      expect(await restarted.stop()).toBe(0);
      running.delete(restarted);
      upstream.bodies.length = 0;
      const named = await replica('r1', { FOOTFALL_INSTANCE_ID: 'footfall-7d9f8-abcde' });
      running.add(named);
      expect([...(await instancesHeard(2)).keys()].sort()).toEqual(['footfall-7d9f8-abcde', other].sort());
      expect(await named.stop()).toBe(0);
      running.delete(named);
      // It is not written in place of the kept one.
      expect((JSON.parse(readFileSync(stateOf('r1'), 'utf8')) as { instanceId?: string }).instanceId).toBe(kept);
    } finally {
      for (const r of running) {
        await r.stop();
      }
      await upstream.close();
    }
  }, 60_000);
});
