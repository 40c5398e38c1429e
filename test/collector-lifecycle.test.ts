/**
 * The collector's life as an operator runs it: restarts, crashes and rolling deploys of the built
 * collector (`node dist/main.js`), with a state file. A restart must continue every counter where it
 * was (a real Prometheus scraping across the restart sees no reset); a periodic save must survive a
 * kill -9; a state file that is damaged or not a file must never stop the collector from starting;
 * SIGTERM must let uploads in flight finish and save them, turn new ones away, and exit 0 in time.
 */
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnCollector, type CollectorProcess } from './support/collector.ts';
import { isCatalogSample, type Sample, scrape, sumOf } from './support/exposition.ts';
import { holdUpload, type HeldUpload } from './support/held-upload.ts';
import {
  attrs,
  deltaHistogram,
  deltaSum,
  exportRequest,
  PANEL_RESOURCE,
  sessionsRequest,
  type ExportRequest,
} from './support/otlp.ts';
import { freePort, pollUntil, startPrometheus, type PrometheusServer } from './support/prometheus.ts';
import { postJson, rejectedPoints, send, toJson } from './support/requests.ts';

// ---------------------------------------------------------------------------------------------------
// The workload: every kind of catalog series a restart has to carry over
// ---------------------------------------------------------------------------------------------------

const GRAFANA = [
  ['grafana.host', 'grafana.example.com'],
  ['grafana.env', 'prod'],
] as const;
const OPS = [
  ['dashboard.uid', 'd-ops'],
  ['dashboard.name', 'Ops overview'],
  ...GRAFANA,
  ['user.role', 'Viewer'],
] as const;
const SALES = [
  ['dashboard.uid', 'd-sales'],
  ['dashboard.name', 'Sales "KPIs"'],
  ...GRAFANA,
  ['user.role', 'Editor'],
] as const;

/**
 * One export with counters (sessions, which also feed the per-instance preferences series; engaged time, which also feeds the legacy
 * grafana_analytics_sessions_duration_seconds_total for focused and visible time only; heartbeats) and
 * a histogram. Values are multiples of 1/4, so every sum is exact in floating point.
 */
function workload(): ExportRequest {
  return exportRequest(
    [
      deltaSum('grafana.dashboard.sessions', [
        { value: 3, attributes: attrs(OPS) },
        { value: 2, attributes: attrs(SALES) },
      ]),
      deltaSum('grafana.dashboard.engaged_time', [
        { value: 12.5, attributes: attrs([...OPS, ['engagement.state', 'focused']]) },
        { value: 30, attributes: attrs([...OPS, ['engagement.state', 'visible']]) },
        { value: 100, attributes: attrs([...OPS, ['engagement.state', 'hidden']]) },
        { value: 7.25, attributes: attrs([...SALES, ['engagement.state', 'focused']]) },
      ]),
      deltaSum('grafana.dashboard.heartbeats', [{ value: 17, attributes: attrs(OPS) }]),
      deltaHistogram('grafana.dashboard.session.duration', [
        { observations: [42.5, 7, 3600.25], attributes: attrs(OPS) },
        { observations: [120], attributes: attrs(SALES) },
      ]),
    ],
    PANEL_RESOURCE
  );
}

/** What one workload() adds, per Prometheus family. */
const ONE_WORKLOAD = {
  grafana_analytics_sessions_total: 5,
  footfall_sessions_by_preferences_total: 5,
  footfall_dashboard_engaged_seconds_total: 12.5 + 30 + 100 + 7.25,
  grafana_analytics_sessions_duration_seconds_total: 12.5 + 30 + 7.25,
  footfall_dashboard_heartbeats_total: 17,
  footfall_dashboard_session_duration_seconds_count: 4,
  footfall_dashboard_session_duration_seconds_sum: 42.5 + 7 + 3600.25 + 120,
} as const;

async function sendWorkload(url: string, request: ExportRequest = workload()): Promise<void> {
  const res = await postJson(url, request);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(rejectedPoints(res), JSON.stringify(res.body)).toBe(0);
}

// ---------------------------------------------------------------------------------------------------
// Reading what an operator sees
// ---------------------------------------------------------------------------------------------------

/** Every catalog sample on /metrics as `name{labels}` → value, labels sorted, for whole-exposition comparison. */
function catalogSeries(samples: readonly Sample[]): Record<string, number> {
  const series: Record<string, number> = {};
  for (const s of samples.filter(isCatalogSample)) {
    const labels = [...s.pairs]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    series[`${s.name}{${labels.join(',')}}`] = s.value;
  }
  return series;
}

/** Per family, the sum over its series (histogram _bucket left out: its sum means nothing). */
function familyTotals(samples: readonly Sample[]): Record<string, number> {
  return Object.fromEntries(Object.keys(ONE_WORKLOAD).map((name) => [name, sumOf(samples, name)]));
}

function times(k: number): Record<string, number> {
  return Object.fromEntries(Object.entries(ONE_WORKLOAD).map(([name, v]) => [name, k * v]));
}

interface LogEntry {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

function logEntries(collector: CollectorProcess): LogEntry[] {
  return collector.output.flatMap((line) => {
    try {
      return [JSON.parse(line) as LogEntry];
    } catch {
      return [];
    }
  });
}

function logged(collector: CollectorProcess, msg: string): LogEntry | undefined {
  return logEntries(collector).find((e) => e.msg === msg);
}

const WARN = 40;

// ---------------------------------------------------------------------------------------------------
// Running collectors
// ---------------------------------------------------------------------------------------------------

interface LaunchOptions {
  readonly stateFile?: string;
  readonly intervalSeconds?: number;
  readonly shutdownTimeoutMs?: number;
  /** A fixed loopback port (a restart that keeps its address); a free one by default. */
  readonly port?: number;
  readonly env?: Record<string, string>;
  readonly requestTimeoutMs?: number;
  readonly bodyIdleTimeoutMs?: number;
  readonly maxConcurrentRequests?: number;
}

const running: CollectorProcess[] = [];
const scratch: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'footfall-lifecycle-'));
  scratch.push(dir);
  return dir;
}

/** Starts the built collector with a YAML configuration (kept apart from the state file's directory). */
async function launch(options: LaunchOptions = {}): Promise<CollectorProcess> {
  const configDir = tempDir();
  const configFile = join(configDir, 'collector.yaml');
  // JSON is YAML.
  writeFileSync(
    configFile,
    JSON.stringify({
      state: {
        ...(options.stateFile === undefined ? {} : { file: options.stateFile }),
        intervalSeconds: options.intervalSeconds ?? 60,
      },
      server: {
        shutdownTimeoutMs: options.shutdownTimeoutMs ?? 10_000,
        ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
        ...(options.bodyIdleTimeoutMs ? { bodyIdleTimeoutMs: options.bodyIdleTimeoutMs } : {}),
      },
      ...(options.maxConcurrentRequests ? { admission: { maxConcurrentRequests: options.maxConcurrentRequests } } : {}),
    })
  );
  const args = [
    '--config',
    configFile,
    ...(options.port === undefined ? [] : ['--listen', `127.0.0.1:${options.port}`]),
  ];
  const collector = await spawnCollector(args, options.env);
  running.push(collector);
  return collector;
}

const alive = (c: CollectorProcess): boolean => c.child.exitCode === null && c.child.signalCode === null;

/** SIGTERM; resolves with the exit code and the time from the signal to the exit. */
async function terminate(collector: CollectorProcess): Promise<{ code: number | null; ms: number }> {
  const sent = performance.now();
  const code = await collector.stop();
  return { code, ms: performance.now() - sent };
}

/** /metrics of a fresh collector on `stateFile` before any traffic: what a restart would show. */
async function restoredFrom(stateFile: string): Promise<Sample[]> {
  const collector = await launch({ stateFile });
  try {
    return (await scrape(collector.url)).samples;
  } finally {
    await collector.stop();
  }
}

/** Temporary files a save left beside the state file. */
function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.tmp'));
}

async function cleanUp(): Promise<void> {
  await Promise.all(
    running
      .splice(0)
      .filter(alive)
      .map((c) => c.stop())
  );
  for (const dir of scratch.splice(0)) {
    rmSync(dir, { recursive: true, force: true });
  }
}

afterAll(cleanUp);

// ---------------------------------------------------------------------------------------------------

describe('a restart with a state file, with Prometheus scraping across it', () => {
  const JOB = 'footfall-restart';
  let prometheus: PrometheusServer | undefined;
  let stateFile: string;
  let firstExit: { code: number | null; ms: number };
  let fileAfterFirst: boolean;
  let leftoversAfterFirst: string[];
  /** /metrics of the first collector just before SIGTERM, and of the second before and after new traffic. */
  let beforeStop: Sample[];
  let afterRestart: Sample[];
  let afterMore: Sample[];
  let second: CollectorProcess;

  beforeAll(async () => {
    // One address for both lives, as a Kubernetes pod or a systemd unit keeps it: Prometheus sees one target.
    const port = await freePort();
    const stateDir = tempDir();
    stateFile = join(stateDir, 'state.json');
    const first = await launch({ stateFile, port });
    prometheus = await startPrometheus({ job: JOB, targets: [`127.0.0.1:${port}`] });
    await sendWorkload(first.url);
    // Prometheus has to hold the first life's values for a reset to show; discovery takes ~6 s.
    await pollUntil(
      () => scalar(`sum(grafana_analytics_sessions_total{job="${JOB}"})`),
      (v) => v === ONE_WORKLOAD.grafana_analytics_sessions_total
    );
    beforeStop = (await scrape(first.url)).samples;
    firstExit = await terminate(first);
    fileAfterFirst = existsSync(stateFile);
    leftoversAfterFirst = leftovers(stateDir);

    second = await launch({ stateFile, port });
    afterRestart = (await scrape(second.url)).samples;
    await sendWorkload(second.url);
    afterMore = (await scrape(second.url)).samples;
    await pollUntil(
      () => scalar(`sum(grafana_analytics_sessions_total{job="${JOB}"})`),
      (v) => v === 2 * ONE_WORKLOAD.grafana_analytics_sessions_total,
      15_000
    );
  });

  afterAll(async () => {
    await prometheus?.stop();
    await cleanUp();
  });

  async function scalar(expr: string): Promise<number> {
    const result = await prometheus!.query(expr);
    return result.length === 0 ? NaN : result[0]!.value;
  }

  it('exits 0 on SIGTERM, leaving the state file and no temporary file', () => {
    expect(firstExit.code).toBe(0);
    expect(fileAfterFirst, `${stateFile} after the first collector stopped`).toBe(true);
    expect(leftoversAfterFirst).toEqual([]);
  });

  it('shows, before any new traffic, exactly the values the first collector had for every catalog series', () => {
    const before = catalogSeries(beforeStop);
    // The comparison covers every family of the workload, legacy series and histogram buckets included.
    expect(familyTotals(beforeStop)).toEqual(times(1));
    expect(
      Object.keys(before).filter((k) => k.startsWith('footfall_dashboard_session_duration_seconds_bucket')).length
    ).toBeGreaterThan(0);
    expect(catalogSeries(afterRestart)).toEqual(before);
    expect(logged(second, 'counters restored from the state file'), second.output.join('\n')).toBeDefined();
  });

  it("keeps each dashboard's last-opened time across the restart (what 'not opened in N days' is answered from)", () => {
    const lastOpened = (samples: readonly Sample[]) =>
      Object.fromEntries(
        samples
          .filter((s) => s.name === 'footfall_dashboard_last_opened_timestamp_seconds')
          .map((s) => [s.labels.dashboard_uid, s.value])
      );
    const before = lastOpened(beforeStop);
    expect(Object.keys(before).length).toBeGreaterThan(0);
    expect(lastOpened(afterRestart)).toEqual(before);
    // The second workload opened the same dashboards again, later.
    for (const [uid, at] of Object.entries(lastOpened(afterMore))) {
      expect(at, uid).toBeGreaterThan(before[uid]!);
    }
  });

  it('continues the counters: new traffic adds to the restored values', () => {
    expect(familyTotals(afterMore)).toEqual(times(2));
    // The same workload again doubles every catalog sample, bucket counts included.
    const doubled = Object.fromEntries(Object.entries(catalogSeries(beforeStop)).map(([k, v]) => [k, 2 * v]));
    expect(catalogSeries(afterMore)).toEqual(doubled);
  });

  it('gives Prometheus no counter reset, and the last value is the total sent', async () => {
    // resets() drops the metric name, so one query per family (a histogram is three).
    const families = [...new Set(afterMore.filter(isCatalogSample).map((s) => s.name))];
    // Each family of the workload, and the histogram's _bucket.
    expect(families).toHaveLength(Object.keys(ONE_WORKLOAD).length + 1);
    for (const family of families) {
      const resets = await prometheus!.query(`resets(${family}{job="${JOB}"}[5m]) > 0`);
      expect(
        resets.map((r) => r.metric),
        `resets of ${family}`
      ).toEqual([]);
      // Not vacuous: resets() saw every series of the family, across both lives.
      const seen = await scalar(`count(resets(${family}{job="${JOB}"}[5m]))`);
      expect(seen, `series of ${family} in Prometheus`).toBe(afterMore.filter((s) => s.name === family).length);
    }
    for (const [family, total] of Object.entries(times(2))) {
      expect(await scalar(`sum(${family}{job="${JOB}"})`), family).toBe(total);
    }
  });
});

describe('periodic save', () => {
  afterEach(cleanUp);

  it('writes the state file while running, so a restart after kill -9 recovers what was sent before the last save', async () => {
    const dir = tempDir();
    const stateFile = join(dir, 'state.json');
    const collector = await launch({ stateFile, intervalSeconds: 1 });
    await sendWorkload(collector.url);
    const sent = catalogSeries((await scrape(collector.url)).samples);

    // The file holds the workload within a save interval or two, and keeps being rewritten.
    const saved = (): { savedAt: string; sessions: number } => {
      if (!existsSync(stateFile)) {
        return { savedAt: '', sessions: 0 };
      }
      const state = JSON.parse(readFileSync(stateFile, 'utf8')) as {
        savedAt: string;
        counters: Array<{ name: string; value: number }>;
      };
      const sessions = state.counters
        .filter((c) => c.name === 'grafana_analytics_sessions_total')
        .reduce((t, c) => t + c.value, 0);
      return { savedAt: state.savedAt, sessions };
    };
    const first = await pollUntil(
      async () => saved(),
      (s) => s.sessions === ONE_WORKLOAD.grafana_analytics_sessions_total,
      3_000,
      100
    );
    expect(first.sessions, 'sessions in the state file while the collector runs').toBe(
      ONE_WORKLOAD.grafana_analytics_sessions_total
    );
    const later = await pollUntil(
      async () => saved(),
      (s) => s.savedAt > first.savedAt,
      3_000,
      100
    );
    expect(later.savedAt, 'savedAt of a later periodic save').not.toBe(first.savedAt);

    collector.child.kill('SIGKILL');
    await new Promise((resolve) => collector.child.once('exit', resolve));
    expect(catalogSeries(await restoredFrom(stateFile))).toEqual(sent);
  });
});

describe('a state file that cannot be used', () => {
  afterEach(cleanUp);

  const valid = JSON.stringify({
    version: 1,
    savedAt: '2026-01-01T00:00:00.000Z',
    counters: [{ name: 'grafana_analytics_sessions_total', labels: { dashboard_uid: 'd-ops' }, value: 1000 }],
    histograms: [],
  });
  const cases = [
    { what: 'garbage bytes', content: Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), randomBytes(509)]) },
    { what: 'a JSON state cut short', content: Buffer.from(valid.slice(0, Math.floor(valid.length / 2))) },
    {
      what: 'valid JSON of the wrong shape',
      content: Buffer.from(
        JSON.stringify({ version: 1, counters: { grafana_analytics_sessions_total: 1000 }, histograms: [] })
      ),
    },
  ];

  it.each(cases)('$what: starts from zero with a warning and keeps the file aside as .corrupt', async ({ content }) => {
    const dir = tempDir();
    const stateFile = join(dir, 'state.json');
    writeFileSync(stateFile, content);
    // The environment variable operators use for it, rather than the YAML key.
    const collector = await launch({ env: { FOOTFALL_STATE_FILE: stateFile } });

    const warning = logged(collector, 'the state file is corrupt: counters start from zero');
    expect(warning, collector.output.join('\n')).toBeDefined();
    expect(warning!.level).toBe(WARN);
    expect(catalogSeries((await scrape(collector.url)).samples)).toEqual({});

    const aside = readdirSync(dir).filter((f) => /^state\.json\.corrupt/.test(f));
    expect(aside, readdirSync(dir).join(', ')).toHaveLength(1);
    expect(readFileSync(join(dir, aside[0]!)).equals(content), 'the corrupt file is kept byte for byte').toBe(true);
    expect(warning!.keptAs).toBe(join(dir, aside[0]!));

    // Counting works from zero, and the next save writes a good file beside the kept one.
    await sendWorkload(collector.url);
    expect(familyTotals((await scrape(collector.url)).samples)).toEqual(times(1));
    expect((await terminate(collector)).code).toBe(0);
    expect(familyTotals(await restoredFrom(stateFile))).toEqual(times(1));
    expect(existsSync(join(dir, aside[0]!))).toBe(true);
  });

  it('an entry that cannot be used (a total saved as null, a negative one): skipped and counted, the rest restored', async () => {
    const dir = tempDir();
    const stateFile = join(dir, 'state.json');
    const counter = (uid: string, value: number | null) => ({
      name: 'grafana_analytics_sessions_total',
      labels: { dashboard_uid: uid },
      value,
      updatedAt: Date.now(),
    });
    // What an earlier version saved after two 1e308 points made a counter +Inf: JSON has no Infinity.
    writeFileSync(
      stateFile,
      JSON.stringify({
        version: 2,
        savedAt: new Date().toISOString(),
        counters: [counter('d-ops', 1000), counter('d-poisoned', null), counter('d-negative', -5)],
        histograms: [],
      })
    );
    const collector = await launch({ env: { FOOTFALL_STATE_FILE: stateFile } });
    const warning = logged(collector, 'state file entries that cannot be used were skipped');
    expect(warning, collector.output.join('\n')).toBeDefined();
    expect(warning!.skipped).toBe(2);
    expect(logged(collector, 'the state file is corrupt: counters start from zero')).toBeUndefined();
    const { samples } = await scrape(collector.url);
    expect(catalogSeries(samples)).toEqual({ 'grafana_analytics_sessions_total{dashboard_uid="d-ops"}': 1000 });
    expect(sumOf(samples, 'footfall_collector_state_entries_total', { result: 'skipped' })).toBe(2);
    expect(sumOf(samples, 'footfall_collector_state_entries_total', { result: 'restored' })).toBe(1);
    expect(readdirSync(dir).filter((f) => f.includes('corrupt'))).toEqual([]);
  });

  it('a corrupt file at every restart: one copy kept aside, not one more per restart', async () => {
    const dir = tempDir();
    const stateFile = join(dir, 'state.json');
    for (let restart = 0; restart < 3; restart++) {
      writeFileSync(stateFile, `not json ${restart}`);
      const collector = await launch({ env: { FOOTFALL_STATE_FILE: stateFile } });
      collector.child.kill('SIGKILL');
      await new Promise((resolve) => collector.child.once('exit', resolve));
    }
    expect(readdirSync(dir).filter((f) => f.includes('corrupt'))).toEqual(['state.json.corrupt']);
    expect(readFileSync(join(dir, 'state.json.corrupt'), 'utf8')).toBe('not json 2');
  });

  it('a directory where the file should be: starts clean with a warning, serves, and saves once the path is free', async () => {
    const dir = tempDir();
    const stateFile = join(dir, 'state.json');
    mkdirSync(stateFile);
    const collector = await launch({ stateFile, intervalSeconds: 1 });

    const warning = logged(collector, 'cannot read the state file: counters start from zero');
    expect(warning, collector.output.join('\n')).toBeDefined();
    expect(warning!.level).toBe(WARN);
    await sendWorkload(collector.url);
    // Through a failed periodic save or two.
    await sleep(1_500);
    expect(familyTotals((await scrape(collector.url)).samples)).toEqual(times(1));
    expect(logged(collector, 'could not save the state file'), 'the failed save is logged').toBeDefined();
    // A failed save does not stop the later ones: once the path is free, the next periodic save writes it.
    rmSync(stateFile, { recursive: true });
    const deadline = Date.now() + 5_000;
    while (!(existsSync(stateFile) && statSync(stateFile).isFile()) && Date.now() < deadline) {
      await sleep(100);
    }
    expect(existsSync(stateFile) && statSync(stateFile).isFile(), 'a periodic save after the failures').toBe(true);
    expect((await terminate(collector)).code).toBe(0);
    expect(familyTotals(await restoredFrom(stateFile))).toEqual(times(1));
  });

  it('a save that fails leaves no temporary file behind', async () => {
    const dir = tempDir();
    const stateFile = join(dir, 'state.json');
    mkdirSync(stateFile);
    const collector = await launch({ stateFile });
    await sendWorkload(collector.url);
    expect((await terminate(collector)).code).toBe(0);
    // Each failed save would otherwise leave a copy of every counter, under a new name per process.
    expect(leftovers(dir)).toEqual([]);
  });
});

describe('SIGTERM drain', () => {
  afterEach(cleanUp);

  const IN_FLIGHT = 'd-in-flight';
  const inFlightBody = toJson(sessionsRequest([{ uid: IN_FLIGHT, value: 4 }]));
  const JSON_HEADERS = { 'content-type': 'application/json' };

  async function authCount(url: string): Promise<number> {
    return sumOf((await scrape(url)).samples, 'footfall_collector_auth_total');
  }

  /** Waits until the collector is reading a body: it authenticated one more request than `before`. */
  async function serverIsReading(url: string, before: number): Promise<void> {
    const seen = await pollUntil(
      () => authCount(url),
      (n) => n > before,
      3_000,
      20
    );
    expect(seen, 'the collector started on the held upload').toBeGreaterThan(before);
  }

  /** A request on a new connection after SIGTERM, described as the client sees it. */
  async function newConnectionAfterSigterm(url: string): Promise<string> {
    try {
      const res = await send(`${url}/v1/metrics`, {
        headers: JSON_HEADERS,
        body: toJson(sessionsRequest([{ uid: 'd-late', value: 1 }])),
      });
      return `${res.status} retry-after=${res.headers['retry-after'] ?? 'none'}`;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code ?? String(err);
    }
  }

  async function draining(collector: CollectorProcess): Promise<void> {
    await pollUntil(
      async () => logged(collector, 'shutting down: draining in-flight requests'),
      (e) => e !== undefined,
      3_000,
      10
    );
  }

  /** A collector with a state file and the workload ingested, reading an upload of IN_FLIGHT sessions held half-way. */
  async function withHeldUpload(
    shutdownTimeoutMs: number,
    agent?: Agent
  ): Promise<{ collector: CollectorProcess; stateFile: string; upload: HeldUpload }> {
    const stateFile = join(tempDir(), 'state.json');
    const collector = await launch({ stateFile, shutdownTimeoutMs });
    await sendWorkload(collector.url);
    const before = await authCount(collector.url);
    const upload = await holdUpload(`${collector.url}/v1/metrics`, {
      headers: JSON_HEADERS,
      body: inFlightBody,
      firstBytes: inFlightBody.length >> 1,
      ...(agent === undefined ? {} : { agent }),
    });
    await serverIsReading(collector.url, before);
    return { collector, stateFile, upload };
  }

  it('finishes an upload in flight at SIGTERM, saves its points, turns new connections away and exits 0 in time', async () => {
    const SHUTDOWN_MS = 4_000;
    const { collector, stateFile, upload } = await withHeldUpload(SHUTDOWN_MS);

    const exited = terminate(collector);
    await draining(collector);
    expect(await newConnectionAfterSigterm(collector.url)).toMatch(/^(ECONNREFUSED|503 retry-after=\d+)$/);
    await sleep(300);
    const outcome = await upload.finish();
    expect(outcome.error?.code, 'the held upload was cut off').toBeUndefined();
    expect(outcome.result!.status).toBe(200);

    const exit = await exited;
    expect(exit.code).toBe(0);
    expect(exit.ms).toBeLessThan(SHUTDOWN_MS);
    const restored = await restoredFrom(stateFile);
    expect(
      sumOf(restored, 'grafana_analytics_sessions_total', { dashboard_uid: IN_FLIGHT }),
      'sessions of the upload in flight, after a restart'
    ).toBe(4);
    expect(familyTotals(restored)).toEqual({
      ...times(1),
      grafana_analytics_sessions_total: ONE_WORKLOAD.grafana_analytics_sessions_total + 4,
      footfall_sessions_by_preferences_total: ONE_WORKLOAD.footfall_sessions_by_preferences_total + 4,
    });
  });

  it('exits as soon as a keep-alive upload in flight at SIGTERM has its answer, not at the shutdown deadline', async () => {
    // Browsers and the OTel exporters keep connections alive. Once the last in-flight request is
    // answered there is nothing left to wait for; holding the idle connection open until the
    // deadline makes every rolling restart take shutdownTimeoutMs − 2 s.
    const agent = new Agent({ keepAlive: true });
    try {
      const { collector, upload } = await withHeldUpload(4_000, agent);
      const exited = terminate(collector);
      await draining(collector);
      const outcome = await upload.finish();
      const answered = performance.now();
      expect(outcome.result?.status, outcome.error?.message).toBe(200);

      const exit = await exited;
      const afterAnswer = performance.now() - answered;
      expect(exit.code).toBe(0);
      expect(afterAnswer, 'ms from the answer to the exit').toBeLessThan(1_000);
      expect(
        logged(collector, 'requests still in flight at the shutdown deadline: closing their connections')
      ).toBeUndefined();
    } finally {
      agent.destroy();
    }
  });

  it('cuts off an upload that never finishes, still saves the state file, and exits 0 within shutdownTimeoutMs', async () => {
    const SHUTDOWN_MS = 3_000;
    const { collector, stateFile, upload } = await withHeldUpload(SHUTDOWN_MS);

    const exit = await terminate(collector);
    expect(exit.code).toBe(0);
    expect(exit.ms).toBeLessThan(SHUTDOWN_MS + 1_000);
    const warning = logged(collector, 'requests still in flight at the shutdown deadline: closing their connections');
    expect(warning?.level, collector.output.join('\n')).toBe(WARN);
    const outcome = await upload.outcome;
    expect(outcome.result, 'the never-finished upload got no answer').toBeUndefined();
    expect(outcome.error?.code).toMatch(/^(ECONNRESET|EPIPE)$/);

    // What was sent before SIGTERM is saved; the half upload is not.
    const restored = await restoredFrom(stateFile);
    expect(familyTotals(restored)).toEqual(times(1));
    expect(sumOf(restored, 'grafana_analytics_sessions_total', { dashboard_uid: IN_FLIGHT })).toBe(0);
  });
});

describe('a stalled upload', () => {
  afterEach(cleanUp);

  it('is cut off at server.requestTimeoutMs and frees its admission slot, not 30 s later', async () => {
    const collector = await launch({ requestTimeoutMs: 2_000, maxConcurrentRequests: 1 });
    const body = toJson(sessionsRequest([{ uid: 'd-stalled', value: 1 }]));
    const started = performance.now();
    const stalled = await holdUpload(`${collector.url}/v1/metrics`, {
      headers: { 'content-type': 'application/json' },
      body,
      firstBytes: 10,
    });
    // The one slot is taken: another export is told to come back.
    const post = () =>
      send(`${collector.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect((await pollUntil(post, (r) => r.status === 503, 1_500, 50)).status).toBe(503);
    const outcome = await stalled.outcome;
    const ms = performance.now() - started;
    expect(outcome.result?.status ?? outcome.error?.code, 'the stalled upload is answered 408 or reset').toSatisfy(
      (v) => v === 408 || v === 'ECONNRESET'
    );
    expect(ms, 'cut off about requestTimeoutMs after it started (Node looks every second)').toBeLessThan(5_000);
    expect((await post()).status, 'the slot is free again').toBe(200);
  });
  it('is cut off after server.bodyIdleTimeoutMs without a byte, not at requestTimeoutMs: 408, Connection: close, its slot free', async () => {
    const IDLE_MS = 1_000;
    const collector = await launch({ bodyIdleTimeoutMs: IDLE_MS, maxConcurrentRequests: 1 });
    const body = toJson(sessionsRequest([{ uid: 'd-idle', value: 1 }]));
    const post = () =>
      send(`${collector.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const started = performance.now();
    const stalled = await holdUpload(`${collector.url}/v1/metrics`, {
      headers: { 'content-type': 'application/json' },
      body,
      firstBytes: 10,
    });
    expect((await pollUntil(post, (r) => r.status === 503, 500, 50)).status, 'the one slot is taken').toBe(503);
    const outcome = await stalled.outcome;
    const ms = performance.now() - started;
    expect(outcome.result?.status, outcome.error?.message).toBe(408);
    expect(outcome.result?.headers.connection).toBe('close');
    expect(JSON.parse(outcome.result!.body.toString('utf8'))).toMatchObject({
      code: 4,
      message: expect.stringMatching(/no body bytes for 1000 ms/),
    });
    expect(ms, 'cut off about bodyIdleTimeoutMs after the last byte (requestTimeoutMs is 30 s)').toBeGreaterThanOrEqual(
      IDLE_MS - 50
    );
    expect(ms).toBeLessThan(IDLE_MS + 1_500);
    expect((await post()).status, 'the slot is free again').toBe(200);
    const counted = sumOf((await scrape(collector.url)).samples, 'footfall_collector_requests_total', {
      code: '408',
      reason: 'body_idle_timeout',
    });
    expect(counted).toBe(1);
  });

  it('lets a slow upload that keeps sending finish, however long it takes within requestTimeoutMs', async () => {
    const collector = await launch({ bodyIdleTimeoutMs: 1_000 });
    const body = toJson(sessionsRequest([{ uid: 'd-slow', value: 3 }]));
    const upload = await holdUpload(`${collector.url}/v1/metrics`, {
      headers: { 'content-type': 'application/json' },
      body,
      firstBytes: 1,
    });
    // A byte every 400 ms for 2.4 s: never idle for the timeout, though longer than it in all.
    for (let i = 0; i < 6; i++) {
      await sleep(400);
      upload.sendMore(1);
    }
    const outcome = await upload.finish();
    expect(outcome.result?.status, outcome.error?.message).toBe(200);
    expect(
      sumOf((await scrape(collector.url)).samples, 'grafana_analytics_sessions_total', { dashboard_uid: 'd-slow' })
    ).toBe(3);
  });
});
