import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSeriesBodies, buildThroughputBody, type Body, type ThroughputBodyName } from './bodies.ts';
import { postAccepted } from './ingest.ts';
import { runLoad } from './load.ts';
import { describeMachine } from './machine.ts';
import { CLIENT_CPU, pinSelf } from './pinning.ts';
import { currentRevision } from './revision.ts';
import { writeBenchmarkSection } from './sections.ts';
import { renderReport, type ThroughputResult, type ThroughputRun } from './report.ts';
import { profileSeries, type SeriesProfile, type SeriesSettings } from './scrape.ts';
import { startServer } from './server-process.ts';
import type { ServerSpec } from './server-protocol.ts';
import { median } from './stats.ts';

/**
 * `npm run bench`: ingest throughput against a node:http baseline; /metrics against prom-client, OTLP
 * waits behind scrapes and state saves, RSS and heap per series; then BENCHMARKS.md rewritten with the
 * numbers. Every phase is bounded in time; the defaults keep the whole run near five minutes on the
 * project's 2-core machines. The BENCH_* variables only
 * exist to try the harness quickly; published numbers use the defaults.
 */

function setting(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const WARMUP_SECONDS = setting('BENCH_WARMUP_S', 3);
const DURATION_SECONDS = setting('BENCH_DURATION_S', 10);
const ROUNDS = setting('BENCH_ROUNDS', 3);
/** Enough concurrent keep-alive connections to keep one server core busy; each stands for many browsers. */
const CONNECTIONS = 10;
const SERIES_CHECKPOINTS = [10_000, 100_000] as const;
/** The collector's default maxPointsPerRequest is 1000: the largest batch it takes whole. */
const POINTS_PER_FILL_REQUEST = 1000;
const SERIES_SETTINGS: SeriesSettings = {
  repeats: 5,
  concurrent: 4,
  // The family the fill bodies write to (grafana.dashboard.sessions).
  family: 'grafana_analytics_sessions_total',
};

interface ThroughputConfig {
  readonly id: string;
  readonly server: ServerSpec & { readonly kind: 'baseline' | 'collector' };
  readonly body: ThroughputBodyName;
  /** The run this one is divided by, and the ratio it should reach. */
  readonly against?: { readonly id: string; readonly target: number };
}

const BASELINE: ServerSpec = { kind: 'baseline' };
const COLLECTOR: ServerSpec = { kind: 'collector' };

const CONFIGS: readonly ThroughputConfig[] = [
  { id: 'baseline-json-1k', server: BASELINE, body: 'json-1k' },
  { id: 'baseline-json-20pt', server: BASELINE, body: 'json-20pt' },
  { id: 'collector-json-1k', server: COLLECTOR, body: 'json-1k', against: { id: 'baseline-json-1k', target: 0.5 } },
  {
    id: 'collector-json-20pt',
    server: COLLECTOR,
    body: 'json-20pt',
    against: { id: 'baseline-json-20pt', target: 0.5 },
  },
  // The protobuf target is defined against the JSON baseline on the same 20 points: there is no
  // protobuf-decoding baseline, the question is what the collector costs next to the cheapest JSON server.
  {
    id: 'collector-protobuf-20pt',
    server: COLLECTOR,
    body: 'protobuf-20pt',
    against: { id: 'baseline-json-20pt', target: 0.4 },
  },
];

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Fails fast, before minutes of load, if a benchmark body would be (partly) refused. */
async function checkBodiesAccepted(bodies: ReadonlyMap<ThroughputBodyName, Body>): Promise<void> {
  const server = await startServer(COLLECTOR);
  try {
    for (const body of bodies.values()) {
      await postAccepted(server.url, body);
    }
  } finally {
    await server.stop();
  }
}

async function measureOnce(config: ThroughputConfig): Promise<ThroughputRun> {
  const server = await startServer(config.server);
  try {
    type Sample = { cpu: number; at: number };
    const sample = async (): Promise<Sample> => ({ cpu: await server.cpuSeconds(), at: performance.now() });
    let atStart: Promise<Sample> | undefined;
    const load = await runLoad(
      {
        url: server.url,
        body: config.body,
        connections: CONNECTIONS,
        warmupSeconds: WARMUP_SECONDS,
        durationSeconds: DURATION_SECONDS,
      },
      () => {
        atStart = sample();
      }
    );
    const end = await sample();
    const start = await atStart!;
    return { ...load, serverCpu: (end.cpu - start.cpu) / ((end.at - start.at) / 1000) };
  } finally {
    await server.stop();
  }
}

async function measureThroughput(bodies: ReadonlyMap<ThroughputBodyName, Body>): Promise<ThroughputResult[]> {
  const runs = new Map<string, ThroughputRun[]>(CONFIGS.map((c) => [c.id, []]));
  // Rounds interleave the configurations, so a slow minute of the noisy host hits every one of them
  // instead of all runs of one configuration; the medians then compare like with like.
  for (let round = 1; round <= ROUNDS; round++) {
    for (const config of CONFIGS) {
      const run = await measureOnce(config);
      runs.get(config.id)!.push(run);
      log(
        `round ${round}/${ROUNDS} ${config.id}: ${Math.round(run.requestsPerSecond)} req/s, ` +
          `p99 ${run.latencyP99Ms} ms, server cpu ${run.serverCpu.toFixed(2)}, load cpu ${run.clientCpu.toFixed(2)}` +
          (run.failures > 0 ? `, ${run.failures} FAILED` : '')
      );
    }
  }
  const medianRps = new Map(CONFIGS.map((c) => [c.id, median(runs.get(c.id)!.map((r) => r.requestsPerSecond))]));
  return CONFIGS.map((config) => {
    const body = bodies.get(config.body)!;
    const list = runs.get(config.id)!;
    const rps = medianRps.get(config.id)!;
    return {
      id: config.id,
      server: config.server.kind,
      body: { name: body.name, encoding: body.encoding, bytes: body.bytes.length, points: body.points },
      runs: list,
      requestsPerSecond: rps,
      pointsPerSecond: rps * body.points,
      latencyP50Ms: median(list.map((r) => r.latencyP50Ms)),
      latencyP99Ms: median(list.map((r) => r.latencyP99Ms)),
      serverCpu: median(list.map((r) => r.serverCpu)),
      cpuMicrosPerRequest: median(list.map((r) => (r.serverCpu / r.requestsPerSecond) * 1e6)),
      clientCpu: median(list.map((r) => r.clientCpu)),
      failures: list.reduce((n, r) => n + r.failures, 0),
      against: config.against
        ? { id: config.against.id, target: config.against.target, ratio: rps / medianRps.get(config.against.id)! }
        : undefined,
    };
  });
}

/** Splits the fill bodies into the batches that take the collector from one checkpoint to the next. */
function batchesFor(bodies: readonly Body[]): Body[][] {
  const batches: Body[][] = [];
  let from = 0;
  for (const series of SERIES_CHECKPOINTS) {
    const to = series / POINTS_PER_FILL_REQUEST;
    batches.push(bodies.slice(from, to));
    from = to;
  }
  return batches;
}

async function measureSeries(fill: readonly Body[], probe: Body): Promise<SeriesProfile> {
  log('series: filling a collector (with a state file, --expose-gc), scraping it and prom-client');
  const started = performance.now();
  const stateDir = mkdtempSync(join(tmpdir(), 'footfall-bench-'));
  const stateFile = join(stateDir, 'state.json');
  // Room for 100k series of one metric and for 1000-point JSON bodies (~550 KiB each).
  const collector = await startServer(
    { kind: 'collector', options: { maxSeriesPerMetric: 200_000, maxBodyBytes: 4 * 1024 * 1024, stateFile } },
    { exposeGc: true }
  );
  const promClient = await startServer({ kind: 'prom-client' });
  try {
    const profile = await profileSeries(collector, promClient, batchesFor(fill), probe, SERIES_SETTINGS, log);
    // The collector only logs a failed save (silently here): without the file, the save waits measured nothing.
    if (!existsSync(stateFile)) {
      throw new Error('the collector saved no state file');
    }
    log(`series done in ${Math.round((performance.now() - started) / 1000)} s`);
    return profile;
  } finally {
    await Promise.all([collector.stop(), promClient.stop()]);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  // Described before pinning: once pinned, this process sees only one CPU.
  const machine = describeMachine();
  const revision = currentRevision();
  // The orchestrator does the scraping and filling; it belongs with the load generator, off the server's CPU.
  pinSelf(CLIENT_CPU);
  const names: ThroughputBodyName[] = ['json-1k', 'json-20pt', 'protobuf-20pt'];
  const bodies = new Map<ThroughputBodyName, Body>();
  for (const name of names) {
    bodies.set(name, await buildThroughputBody(name));
  }
  await checkBodiesAccepted(bodies);
  const sizes = [...bodies.values()].map((b) => `${b.name} ${b.bytes.length} B/${b.points} pt`);
  log(`bodies accepted in full: ${sizes.join(', ')}`);

  const throughput = await measureThroughput(bodies);

  const last = SERIES_CHECKPOINTS[SERIES_CHECKPOINTS.length - 1]!;
  const fill = await buildSeriesBodies(0, last, POINTS_PER_FILL_REQUEST);
  // The warm-up and probe request re-sends the first fill series, so it adds no series of its own.
  const [probe] = await buildSeriesBodies(0, 1, 1);
  const series = await measureSeries(fill, probe!);

  const report = renderReport({
    date: new Date(),
    machine,
    revision,
    settings: {
      warmupSeconds: WARMUP_SECONDS,
      durationSeconds: DURATION_SECONDS,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      pointsPerFillRequest: POINTS_PER_FILL_REQUEST,
      series: SERIES_SETTINGS,
    },
    throughput,
    series,
    elapsedSeconds: (performance.now() - started) / 1000,
  });
  await writeBenchmarkSection(
    fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url)),
    'collector',
    report.markdown
  );
  process.stdout.write(`${report.tables}\n`);
  log(`BENCHMARKS.md written (${Math.round((performance.now() - started) / 1000)} s)`);
}

await main();
