import type { HeapProfile } from './heap.ts';
import type { IngestTiming } from './ingest.ts';
import type { LoadResult } from './load-protocol.ts';
import type { Machine } from './machine.ts';
import type { Revision } from './revision.ts';
import type { ScrapeTiming } from './scrape.ts';

export interface ThroughputRun extends LoadResult {
  /** Server CPU over the measured window, as a share of one core. */
  readonly serverCpu: number;
}

export interface ThroughputResult {
  readonly id: string;
  readonly server: 'baseline' | 'collector';
  readonly body: { readonly name: string; readonly encoding: string; readonly bytes: number; readonly points: number };
  readonly runs: readonly ThroughputRun[];
  readonly requestsPerSecond: number;
  readonly pointsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly serverCpu: number;
  /** Server CPU time per request in µs: steadier than req/s when the host steals time from the run. */
  readonly cpuMicrosPerRequest: number;
  readonly clientCpu: number;
  readonly failures: number;
  readonly against: { readonly id: string; readonly target: number; readonly ratio: number } | undefined;
}

export interface SeriesResult {
  readonly scrapes: readonly {
    readonly series: number;
    readonly ingest: IngestTiming;
    readonly timing: ScrapeTiming;
    /** Longest wait of a small OTLP request sent while a scrape ran. */
    readonly ingestWaitMs: number;
  }[];
  readonly heap: HeapProfile;
  readonly scrapeRepeats: number;
}

export interface ReportInput {
  readonly date: Date;
  readonly machine: Machine;
  readonly revision: Revision | undefined;
  readonly settings: {
    readonly warmupSeconds: number;
    readonly durationSeconds: number;
    readonly rounds: number;
    readonly connections: number;
    readonly pointsPerFillRequest: number;
  };
  readonly throughput: readonly ThroughputResult[];
  readonly series: SeriesResult;
  readonly elapsedSeconds: number;
}

/** Taken as 16 × 10⁶ bytes, the stricter reading of "16 MB". */
const HEAP_TARGET_BYTES_PER_10K = 16e6;
/** A load generator this busy may be the limit itself, which would understate that run. */
const SATURATED = 0.9;

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const fixed = (n: number, digits: number): string => n.toFixed(digits);
const mib = (bytes: number): string => (bytes / 1024 ** 2).toFixed(1);
const percent = (share: number): string => `${Math.round(share * 100)} %`;
const met = (ok: boolean): string => (ok ? 'met' : '**not met**');

function label(result: ThroughputResult): string {
  const server = result.server === 'baseline' ? 'node:http + JSON.parse' : 'collector';
  return `${server}, ${result.body.encoding} ${result.body.points} pt`;
}

function throughputTable(results: readonly ThroughputResult[]): string {
  const rows = results.map((r) => {
    const ratio = r.against ? `${fixed(r.against.ratio, 2)}× (target ≥ ${r.against.target}×)` : '—';
    const runs = r.runs.map((run) => int(run.requestsPerSecond)).join(' / ');
    return (
      `| ${label(r)} | ${int(r.body.bytes)} B | **${int(r.requestsPerSecond)}** | ${runs} | ${int(r.pointsPerSecond)} | ` +
      `${fixed(r.latencyP50Ms, 2)} | ${fixed(r.latencyP99Ms, 2)} | ${percent(r.serverCpu)} | ${int(r.cpuMicrosPerRequest)} | ${percent(r.clientCpu)} | ` +
      `${r.failures} | ${ratio} |`
    );
  });
  return [
    '| Server, body | Body size | req/s (median) | req/s per run | points/s | p50 ms | p99 ms | server CPU | server CPU µs/req | load-gen CPU | failed requests | vs baseline (req/s) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
  ].join('\n');
}

function scrapeTable(series: SeriesResult): string {
  const rows = series.scrapes.map(
    ({ series: n, timing, ingestWaitMs }) =>
      `| ${int(n)} | ${int(timing.familySamples)} | ${fixed(timing.firstMs, 0)} | **${fixed(timing.medianMs, 0)}** | ` +
      `${fixed(timing.minMs, 0)}–${fixed(timing.maxMs, 0)} | ${mib(timing.bytes)} MiB | ${fixed(ingestWaitMs, 0)} |`,
  );
  return [
    `| Series present | samples of the filled family | first scrape ms | median of next ${series.scrapeRepeats} ms | min–max ms | body size | longest ingest wait during a scrape, ms |`,
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

function fillTable(series: SeriesResult): string {
  let previous = 0;
  const rows = series.scrapes.map(({ series: n, ingest }) => {
    const row = `| ${int(previous)} → ${int(n)} | ${int(ingest.points / ingest.seconds)} | ${fixed(ingest.seconds, 2)} |`;
    previous = n;
    return row;
  });
  return ['| Series | new-series points/s | seconds |', '| --- | ---: | ---: |', ...rows].join('\n');
}

function heapPer10k(heap: HeapProfile, index: number): number {
  const point = heap.after[index]!;
  return (point.heapUsed - heap.before.heapUsed) / (point.series / 10_000);
}

function heapTable(heap: HeapProfile): string {
  const rows = heap.after.map((point, i) => {
    const growth = point.heapUsed - heap.before.heapUsed;
    return (
      `| ${int(point.series)} | ${mib(heap.before.heapUsed)} | ${mib(point.heapUsed)} | ${mib(growth)} | ` +
      `**${mib(heapPer10k(heap, i))}** | ${mib(point.rss)} |`
    );
  });
  return [
    '| Series | heapUsed before (MiB) | heapUsed after (MiB) | growth (MiB) | per 10k series (MiB) | RSS after (MiB) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

function targets(input: ReportInput): string {
  const lines: string[] = [];
  for (const r of input.throughput) {
    if (!r.against) continue;
    const base = input.throughput.find((b) => b.id === r.against!.id)!;
    lines.push(
      `- ${label(r)} vs ${label(base)}: ${fixed(r.against.ratio, 2)}× against a target of ≥ ${r.against.target}× — ${met(r.against.ratio >= r.against.target)}.`,
    );
  }
  input.series.heap.after.forEach((point, i) => {
    const per = heapPer10k(input.series.heap, i);
    lines.push(
      `- Heap with ${int(point.series)} series: ${mib(per)} MiB (${(per / 1e6).toFixed(1)} MB) per 10k series against a target of ≤ 16 MB — ${met(per <= HEAP_TARGET_BYTES_PER_10K)}.`,
    );
  });
  for (const s of input.series.scrapes) {
    lines.push(
      `- /metrics with ${int(s.series)} series takes ${fixed(s.timing.medianMs, 0)} ms (median; no target set); ` +
        `an OTLP request sent meanwhile waited up to ${fixed(s.ingestWaitMs, 0)} ms.`,
    );
  }
  const saturated = input.throughput.filter((r) => r.clientCpu >= SATURATED);
  if (saturated.length > 0) {
    lines.push(
      `- Caveat: the load generator used ≥ ${percent(SATURATED)} of its core in ${saturated.map(label).join('; ')}. ` +
        'Those figures may be capped by the generator rather than the server; a capped baseline makes the ratios against it look better than they are.',
    );
  }
  const failed = input.throughput.filter((r) => r.failures > 0);
  if (failed.length > 0) {
    lines.push(`- Caveat: some requests failed in ${failed.map(label).join('; ')}; those runs are not clean.`);
  }
  return lines.join('\n');
}

function revisionText(revision: Revision | undefined): string {
  if (!revision) return 'unknown (not a git checkout)';
  return `commit ${revision.commit}${revision.collectorDirty ? ' plus uncommitted changes in packages/collector' : ''}`;
}

export function renderReport(input: ReportInput): { markdown: string; tables: string } {
  const { machine, settings } = input;
  const tables = [
    '### Ingest throughput',
    throughputTable(input.throughput),
    '### /metrics scrape',
    scrapeTable(input.series),
    '### Heap',
    heapTable(input.series.heap),
  ].join('\n\n');

  const markdown = `# Benchmarks

Measured by \`npm run bench\` (\`bench/run.ts\`), which rewrites this part of the file (the panel's part is
\`npm run bench:panel\`'s). The numbers are from one run
on the machine below; rerun to compare on yours.

- Date: ${input.date.toISOString()}
- Code: ${revisionText(input.revision)}
- Machine: ${machine.cpus} CPUs, ${machine.cpuModel}, ${machine.memoryGiB.toFixed(1)} GiB memory, ${machine.os}
- Node: ${machine.node}
- CPU pinning: ${machine.pinned ? 'server under test on CPU 0, load generator and orchestrator on CPU 1 (taskset)' : 'none (taskset not found): server and load generator share the CPUs'}
- Whole run: ${Math.round(input.elapsedSeconds)} s

## Method

- **Bodies** are made by the OTel JS SDK (\`MeterProvider\` + a DELTA \`MetricReader\`) and serialised by
  \`@opentelemetry/otlp-transformer\`, as a browser exporter would send them: a ~1 KiB JSON request with one
  session point (7 attributes), and a ~12 KiB JSON request with 20 points over four catalog instruments
  (sessions, engaged time by state, heartbeats, a session-duration histogram; ~7 attributes each), plus the
  protobuf encoding of the same 20 points. Before any load the collector must accept every point of each
  body (no partial success), so the whole path runs: decode, privacy, limits, series cap, SDK aggregation.
- **Servers**: the collector as \`createCollector\` wires it, from the compiled \`dist\`, with default limits;
  the baseline is a plain \`node:http\` server that reads the body (64 KiB cap), \`JSON.parse\`s it and answers
  200 \`{}\`. Each run gets a fresh server process.
- **Load**: autocannon 9 in a separate process, ${settings.connections} keep-alive connections, no pipelining,
  loopback only; ${settings.warmupSeconds} s warm-up (discarded) then ${settings.durationSeconds} s measured.
  ${settings.rounds} rounds, each running every configuration once in turn, so host noise (±25 % here) falls on
  all of them alike; the table gives the median run. Ratios divide medians measured in the same invocation.
  The protobuf ratio is against the baseline on the **JSON** form of the same 20 points, which is how its
  target is defined. Server and load-generator CPU (100 % = one core) are sampled over the measured window and
  show which side was the limit; server CPU µs per request is the cost of one request, less sensitive to the
  host stealing time than req/s. Latency percentiles are computed from every response time.
- **Scrape**: a collector with \`maxSeriesPerMetric: 200000\` is filled with distinct \`dashboard.uid\` series of
  the sessions counter, ${settings.pointsPerFillRequest} points per JSON request, then \`GET /metrics\` is timed
  (request to last byte) once and ${input.series.scrapeRepeats} more times at 10k and again at 100k series. During one
  more scrape a one-point OTLP request (~1 KiB, an existing series) is sent every 5 ms; the longest any of them waited shows how long a
  scrape holds ingestion back (both share Node's one thread).
- **Heap**: a fresh collector process started with \`--expose-gc\`; after one warm-up request and scrape,
  \`heapUsed\` after full GCs is taken before filling and after each checkpoint (with one scrape first, so
  the exporter's per-series state exists).

## Results

### Ingest throughput

${throughputTable(input.throughput)}

### /metrics scrape

${scrapeTable(input.series)}

Ingest speed while filling (one connection, ${settings.pointsPerFillRequest} new series per request):

${fillTable(input.series)}

### Heap per series

${heapTable(input.series.heap)}

## Where we are against the targets

${targets(input)}
`;
  return { markdown, tables };
}
