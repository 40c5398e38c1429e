import type { LoadResult } from './load-protocol.ts';
import type { Machine } from './machine.ts';
import type { Revision } from './revision.ts';
import type { SeriesCheckpoint, SeriesProfile, SeriesSettings } from './scrape.ts';

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
    readonly series: SeriesSettings;
  };
  readonly throughput: readonly ThroughputResult[];
  readonly series: SeriesProfile;
  readonly elapsedSeconds: number;
}

/** Taken as 16 × 10⁶ bytes, the stricter reading of "16 MB". */
const HEAP_TARGET_BYTES_PER_10K = 16e6;
/** Issue 13's targets, judged at the largest checkpoint (100k series). */
const SCRAPE_TARGET_RATIO = 0.4;
const WAIT_TARGET_MS = 100;
const RSS_TARGET_BYTES = 300 * 2 ** 20;
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

const ratio = (c: SeriesCheckpoint): number => c.scrape.medianMs / c.promClient.serverMs!;
const familyRatio = (c: SeriesCheckpoint): number => c.scrape.medianMs / c.promClientFamily.serverMs!;
const worstWait = (c: SeriesCheckpoint): number => Math.max(c.waits.scrapeMs, c.waits.concurrentMs, c.waits.saveMs);

function scrapeTable(series: SeriesProfile, repeats: number): string {
  const rows = series.checkpoints.map(
    (c) =>
      `| ${int(c.series)} | ${int(c.scrape.familySamples)} | ${fixed(c.scrape.firstMs, 0)} | **${fixed(c.scrape.medianMs, 0)}** | ` +
      `${fixed(c.scrape.minMs, 0)}–${fixed(c.scrape.maxMs, 0)} | ${mib(c.scrape.bytes)} MiB | ` +
      `${fixed(c.gzipScrape.medianMs, 0)} | ${mib(c.gzipScrape.bytes)} MiB${c.gzipScrape.gzipped ? '' : ' (not compressed)'} | ` +
      `${fixed(c.promClient.serverMs!, 0)} | **${fixed(ratio(c), 2)}×** | ${fixed(c.promClientFamily.serverMs!, 0)} | ${fixed(familyRatio(c), 2)}× |`
  );
  return [
    `| Series present | samples of the filled family | first scrape ms | median of next ${repeats} ms | min–max ms | body size | ` +
      'with `Accept-Encoding: gzip`: median ms | on the wire | prom-client `registry.metrics()`, the same page, median ms | collector ÷ prom-client | ' +
      'prom-client, the filled family alone, median ms | collector ÷ that |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

function stallTable(series: SeriesProfile, concurrent: number): string {
  const rows = series.checkpoints.map(
    (c) =>
      `| ${int(c.series)} | ${fixed(c.waits.scrapeMs, 0)} | ${fixed(c.waits.concurrentMs, 0)} (all done in ${fixed(c.concurrentScrapesMs, 0)}) | ` +
      `${fixed(c.waits.saveMs, 0)} (save took ${fixed(c.saveMs, 0)}) | **${mib(c.rss)}** | ${mib(c.peakRss)} |`
  );
  return [
    `| Series | longest OTLP wait, ms: during one scrape | during ${concurrent} concurrent scrapes | during a state save | RSS after the scrapes (MiB) | peak RSS so far (MiB) |`,
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

function fillTable(series: SeriesProfile): string {
  let previous = 0;
  const rows = series.checkpoints.map(({ series: n, ingest }) => {
    const row = `| ${int(previous)} → ${int(n)} | ${int(ingest.points / ingest.seconds)} | ${fixed(ingest.seconds, 2)} |`;
    previous = n;
    return row;
  });
  return ['| Series | new-series points/s | seconds |', '| --- | ---: | ---: |', ...rows].join('\n');
}

const heapPer10k = (series: SeriesProfile, c: SeriesCheckpoint): number =>
  (c.heapUsed - series.heapBefore) / (c.series / 10_000);

function heapTable(series: SeriesProfile): string {
  const rows = series.checkpoints.map(
    (c) =>
      `| ${int(c.series)} | ${mib(series.heapBefore)} | ${mib(c.heapUsed)} | ${mib(c.heapUsed - series.heapBefore)} | ` +
      `**${mib(heapPer10k(series, c))}** |`
  );
  return [
    '| Series | heapUsed before (MiB) | heapUsed after (MiB) | growth (MiB) | per 10k series (MiB) |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

function targets(input: ReportInput): string {
  const lines: string[] = [];
  for (const r of input.throughput) {
    if (!r.against) {
      continue;
    }
    const base = input.throughput.find((b) => b.id === r.against!.id)!;
    lines.push(
      `- ${label(r)} vs ${label(base)}: ${fixed(r.against.ratio, 2)}× against a target of ≥ ${r.against.target}× — ${met(r.against.ratio >= r.against.target)}.`
    );
  }
  for (const c of input.series.checkpoints) {
    const per = heapPer10k(input.series, c);
    lines.push(
      `- Heap with ${int(c.series)} series: ${mib(per)} MiB (${(per / 1e6).toFixed(1)} MB) per 10k series against a target of ≤ 16 MB — ${met(per <= HEAP_TARGET_BYTES_PER_10K)}.`
    );
  }
  const top = input.series.checkpoints[input.series.checkpoints.length - 1]!;
  const { concurrent } = input.settings.series;
  lines.push(
    `- /metrics with ${int(top.series)} series: ${fixed(top.scrape.medianMs, 0)} ms against prom-client's ${fixed(top.promClient.serverMs!, 0)} ms, ` +
      `${fixed(ratio(top), 2)}× against a target of ≤ ${SCRAPE_TARGET_RATIO}× — ${met(ratio(top) <= SCRAPE_TARGET_RATIO)} ` +
      `(against prom-client holding the filled family alone, ${fixed(top.promClientFamily.serverMs!, 0)} ms: ${fixed(familyRatio(top), 2)}×).`,
    `- Longest OTLP wait with ${int(top.series)} series: ${fixed(worstWait(top), 0)} ms (${fixed(top.waits.scrapeMs, 0)} during one scrape, ` +
      `${fixed(top.waits.concurrentMs, 0)} during ${concurrent} concurrent ones, ${fixed(top.waits.saveMs, 0)} during a state save) ` +
      `against a target of ≤ ${WAIT_TARGET_MS} ms — ${met(worstWait(top) <= WAIT_TARGET_MS)}.`,
    `- RSS with ${int(top.series)} series, after all its scrapes: ${mib(top.rss)} MiB (peak ${mib(top.peakRss)} MiB) ` +
      `against a target of ≤ ${RSS_TARGET_BYTES / 2 ** 20} MiB (${mib(input.series.rssBefore)} MiB before filling) — ${met(top.rss <= RSS_TARGET_BYTES)}` +
      `${top.peakRss > RSS_TARGET_BYTES && top.rss <= RSS_TARGET_BYTES ? ', though the peak went over' : ''}.`,
    top.gzipScrape.gzipped
      ? `- gzip with ${int(top.series)} series: ${mib(top.scrape.bytes)} MiB → ${mib(top.gzipScrape.bytes)} MiB on the wire, ` +
          `${fixed(top.gzipScrape.medianMs, 0)} ms against ${fixed(top.scrape.medianMs, 0)} ms uncompressed (no target set).`
      : `- gzip: not yet — the collector answers \`Accept-Encoding: gzip\` with the uncompressed ${mib(top.gzipScrape.bytes)} MiB page.`
  );
  const saturated = input.throughput.filter((r) => r.clientCpu >= SATURATED);
  if (saturated.length > 0) {
    lines.push(
      `- Caveat: the load generator used ≥ ${percent(SATURATED)} of its core in ${saturated.map(label).join('; ')}. ` +
        'Those figures may be capped by the generator rather than the server; a capped baseline makes the ratios against it look better than they are.'
    );
  }
  const failed = input.throughput.filter((r) => r.failures > 0);
  if (failed.length > 0) {
    lines.push(`- Caveat: some requests failed in ${failed.map(label).join('; ')}; those runs are not clean.`);
  }
  return lines.join('\n');
}

function revisionText(revision: Revision | undefined): string {
  if (!revision) {
    return 'unknown (not a git checkout)';
  }
  return `commit ${revision.commit}${revision.collectorDirty ? ' plus uncommitted changes in packages/collector' : ''}`;
}

export function renderReport(input: ReportInput): { markdown: string; tables: string } {
  const { machine, settings } = input;
  const { repeats, concurrent } = settings.series;
  const scrapes = scrapeTable(input.series, repeats);
  const stalls = stallTable(input.series, concurrent);
  const tables = [
    '### Ingest throughput',
    throughputTable(input.throughput),
    '### /metrics scrape',
    scrapes,
    stalls,
    '### Heap',
    heapTable(input.series),
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
- **Scrape**: one collector process (\`maxSeriesPerMetric: 200000\`, a state file, \`--expose-gc\`) is filled
  with distinct \`dashboard.uid\` series of the sessions counter, ${settings.pointsPerFillRequest} points per JSON
  request, to 10k and then 100k series. At each checkpoint \`GET /metrics\` is timed (request to last byte, over
  \`node:http\`) once and ${repeats} more times plain (\`Accept-Encoding: identity\`), then as often with
  \`Accept-Encoding: gzip\` (time to the last byte on the wire, and its size).
- **prom-client** 15, in its own process on the server's CPU, is filled with every counter and gauge sample
  of the collector's page (the filled family and, since every fill series is a dashboard of its own, a
  \`footfall_dashboard_last_opened_timestamp_seconds\` series per dashboard, plus the collector's own; same
  names, label sets and values; the run stops if the counts differ; the few histogram lines are left out)
  and \`registry.metrics()\` is timed inside it, first once and then ${repeats} times. The ratio divides the
  collector's median scrape, timed over HTTP to the last byte, by that in-process median, measured in the
  same run: the collector pays the transfer, prom-client does not. Beside it, prom-client holding the filled
  family alone (half the samples, the dashboards' gauges left out), timed the same way, for a stricter ratio.
- **OTLP waits**: while one scrape runs, while ${concurrent} scrapes run at once, and while
  \`collector.saveState()\` runs (asked for over IPC; the periodic save is set to an hour so it never lands
  elsewhere), a one-point OTLP request (~1 KiB, an existing series) is sent every 5 ms by a probe process of
  its own (warmed up first; the orchestrator reading tens of MB of scrape must not delay it); the longest
  any of them waited shows how long the work holds ingestion back (all share Node's one thread). The
  scrapes during these only count their bytes.
- **Memory**: RSS as the process has it after all those scrapes (no forced GC) and the peak RSS so far
  (\`maxRSS\`, fill included). Before filling, after one warm-up request, scrape and save, and at each
  checkpoint after its scrapes and save, \`heapUsed\` is taken after full GCs (the scrapes first, so the
  label text /metrics keeps per series exists).

## Results

### Ingest throughput

${throughputTable(input.throughput)}

### /metrics scrape

${scrapes}

OTLP waits and memory while scraping and saving:

${stalls}

Ingest speed while filling (one connection, ${settings.pointsPerFillRequest} new series per request):

${fillTable(input.series)}

### Heap per series

${heapTable(input.series)}

## Where we are against the targets

${targets(input)}
`;
  return { markdown, tables };
}
