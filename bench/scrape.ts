import { spawn, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { counterAndGaugeSamples } from './baseline-server.ts';
import type { Body } from './bodies.ts';
import { populate, postAccepted, type IngestTiming } from './ingest.ts';
import { CLIENT_CPU, pinnedNode } from './pinning.ts';
import type { ServerProcess } from './server-process.ts';
import { median } from './stats.ts';

/**
 * The series benchmark's one load-and-measure core: a collector is filled to each checkpoint, then
 * scraped (plain, gzip, several at once) while a probe measures how long OTLP requests wait, saved on
 * demand under the same probe, weighed, and compared with prom-client serving the same samples.
 */

export interface ScrapeTiming {
  /** The first scrape of the set: for the collector, the SDK builds its state for every new series here. */
  readonly firstMs: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** Body size on the wire (compressed when the server compressed it). */
  readonly bytes: number;
  readonly gzipped: boolean;
  /** Samples of the family the benchmark filled; proves the series were really all there. */
  readonly familySamples: number;
  /** Median of the time the server reported in `Server-Timing` (prom-client's `registry.metrics()`). */
  readonly serverMs: number | undefined;
}

export interface SeriesCheckpoint {
  readonly series: number;
  readonly ingest: IngestTiming;
  readonly scrape: ScrapeTiming;
  readonly gzipScrape: ScrapeTiming;
  /** prom-client holding every counter and gauge sample of the collector's page: the target's comparison. */
  readonly promClient: ScrapeTiming;
  /** prom-client holding the filled family's samples alone, the stricter comparison. */
  readonly promClientFamily: ScrapeTiming;
  /** The longest wait of a one-point OTLP request sent every few ms during each of these. */
  readonly waits: {
    readonly scrapeMs: number;
    readonly concurrentMs: number;
    readonly saveMs: number;
  };
  /** How long the concurrent scrapes and the state save took, all told. */
  readonly concurrentScrapesMs: number;
  readonly saveMs: number;
  /** Resident set after all the scrapes, as the machine sees it (no forced GC), and its peak so far. */
  readonly rss: number;
  readonly peakRss: number;
  /** heapUsed after full GCs. */
  readonly heapUsed: number;
}

export interface SeriesProfile {
  /** heapUsed after full GCs, and RSS then, warmed up but before filling. */
  readonly heapBefore: number;
  readonly rssBefore: number;
  readonly checkpoints: readonly SeriesCheckpoint[];
}

export interface SeriesSettings {
  /** Scrapes timed after the first one, for each kind. */
  readonly repeats: number;
  /** Scrapes sent at once, as an HA pair and a curious human would. */
  readonly concurrent: number;
  /** The family the fill bodies write to. */
  readonly family: string;
}

interface Scrape {
  readonly ms: number;
  readonly body: Buffer;
  readonly gzipped: boolean;
  readonly serverMs: number | undefined;
}

/**
 * GET /metrics, timed from request to the last byte read, as a Prometheus scraper sees it. node:http
 * rather than fetch, which would ask for gzip on its own and hide the size on the wire. With `keep`
 * false the body is only counted: the scrapes that run while OTLP waits are measured must not stall
 * this process (which sends the probe) joining tens of MB.
 */
function scrapeOnce(url: string, gzip = false, keep = true): Promise<Scrape> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = get(`${url}/metrics`, { headers: { 'accept-encoding': gzip ? 'gzip' : 'identity' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => keep && chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const ms = performance.now() - started;
        if (res.statusCode !== 200) {
          return reject(new Error(`/metrics answered ${res.statusCode}`));
        }
        const timing = /dur=([\d.]+)/.exec(String(res.headers['server-timing'] ?? ''));
        resolve({
          ms,
          body: Buffer.concat(chunks),
          gzipped: res.headers['content-encoding'] === 'gzip',
          serverMs: timing ? Number(timing[1]) : undefined,
        });
      });
    });
    req.on('error', reject);
  });
}

const textOf = (scrape: Scrape): string => (scrape.gzipped ? gunzipSync(scrape.body) : scrape.body).toString('utf8');

/** The family's HELP and TYPE lines and samples, out of a whole page. */
const familyText = (text: string, family: string): string =>
  text
    .split('\n')
    .filter(
      (line) =>
        line.startsWith(`${family}{`) || line.startsWith(`# HELP ${family} `) || line.startsWith(`# TYPE ${family} `)
    )
    .join('\n');

/** Samples of one family in an exposition. */
const countSamples = (text: string, family: string): number =>
  text.split('\n').filter((line) => line.startsWith(`${family}{`)).length;

async function timeScrapes(
  url: string,
  settings: SeriesSettings,
  gzip = false
): Promise<{ timing: ScrapeTiming; text: string }> {
  const scrapes: Scrape[] = [];
  for (let i = 0; i <= settings.repeats; i++) {
    scrapes.push(await scrapeOnce(url, gzip));
  }
  const [first, ...rest] = scrapes;
  const last = scrapes[scrapes.length - 1]!;
  const text = textOf(last);
  const times = rest.map((s) => s.ms);
  const serverTimes = rest.flatMap((s) => (s.serverMs === undefined ? [] : [s.serverMs]));
  const timing = {
    firstMs: first!.ms,
    medianMs: median(times),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    bytes: last.body.length,
    gzipped: last.gzipped,
    familySamples: countSamples(text, settings.family),
    serverMs: serverTimes.length > 0 ? median(serverTimes) : undefined,
  };
  return { timing, text };
}

const PROBE_MAIN = fileURLToPath(new URL('./probe-main.ts', import.meta.url));

/** Gap between probe requests: frequent enough to land inside any stall longer than a few ms. */
const PROBE_INTERVAL_MS = 5;

/**
 * Sends a one-point OTLP request every few ms from a child process of its own, on demand: Node serves
 * a scrape and an OTLP request on one thread, so whatever part of a scrape or a save runs synchronously
 * holds every browser's export back for that long.
 */
class Probe {
  private readonly child: ChildProcess;
  private constructor(child: ChildProcess) {
    this.child = child;
  }

  static async start(url: string, body: Body): Promise<Probe> {
    const spec = {
      url,
      contentType: body.contentType,
      body: body.bytes.toString('base64'),
      intervalMs: PROBE_INTERVAL_MS,
    };
    const { command, args } = pinnedNode(CLIENT_CPU, [PROBE_MAIN, JSON.stringify(spec)]);
    const probe = new Probe(spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    await probe.reply();
    return probe;
  }

  private reply(): Promise<{ longestMs?: number; error?: string }> {
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error('the probe process exited'));
      this.child.once('exit', onExit);
      this.child.once('message', (message: { longestMs?: number; error?: string }) => {
        this.child.off('exit', onExit);
        if (message.error !== undefined) {
          reject(new Error(message.error));
        } else {
          resolve(message);
        }
      });
    });
  }

  /** The longest an OTLP request waited while `work` ran, and how long the work took. */
  async during(work: () => Promise<unknown>): Promise<{ longestMs: number; workMs: number }> {
    this.child.send('start');
    await this.reply();
    const started = performance.now();
    await work();
    const workMs = performance.now() - started;
    this.child.send('stop');
    const { longestMs } = await this.reply();
    return { longestMs: longestMs!, workMs };
  }

  stop(): void {
    this.child.disconnect();
  }
}

/**
 * Fills the collector batch by batch and measures each checkpoint. The probe (an existing series)
 * goes first as the warm-up, with a scrape and a save, so lazily built things (JIT code, protobuf
 * schema, router caches, the exporter's first collection) are not billed to the series. The heap is
 * weighed after the scrapes, because the SDK only builds the state a Prometheus reader keeps per
 * series when it first collects it, and that state is what stays.
 */
export async function profileSeries(
  collector: ServerProcess,
  promClient: ServerProcess,
  batches: ReadonlyArray<readonly Body[]>,
  probe: Body,
  settings: SeriesSettings,
  log: (message: string) => void
): Promise<SeriesProfile> {
  const { url } = collector;
  await postAccepted(url, probe);
  await scrapeOnce(url);
  await scrapeOnce(url, true);
  await collector.saveState();
  const { heapUsed: heapBefore, rss: rssBefore } = (await collector.memory({ gc: true })).memory;
  const checkpoints: SeriesCheckpoint[] = [];
  const prober = await Probe.start(url, probe);
  try {
    // The probe's series is the first fill series, so every fill point is a series of its own.
    let series = 0;
    for (const batch of batches) {
      const ingest = await populate(url, batch);
      series += ingest.points;
      const { timing: scrape, text } = await timeScrapes(url, settings);
      const { timing: gzipScrape } = await timeScrapes(url, settings, true);
      const single = await prober.during(() => scrapeOnce(url, false, false));
      const concurrent = await prober.during(() =>
        Promise.all(Array.from({ length: settings.concurrent }, () => scrapeOnce(url, false, false)))
      );
      const { memory, peakRss } = await collector.memory({ gc: false });
      const save = await prober.during(() => collector.saveState());
      const heapUsed = (await collector.memory({ gc: true })).memory.heapUsed;

      await postText(`${promClient.url}/fill`, familyText(text, settings.family));
      const { timing: promFamily } = await timeScrapes(promClient.url, settings);
      await postText(`${promClient.url}/fill`, text);
      const { timing: prom, text: promText } = await timeScrapes(promClient.url, settings);
      const [collectorSamples, promSamples] = [counterAndGaugeSamples(text), counterAndGaugeSamples(promText)];
      if (
        prom.familySamples !== scrape.familySamples ||
        promFamily.familySamples !== scrape.familySamples ||
        promSamples !== collectorSamples
      ) {
        throw new Error(
          `prom-client serves ${promSamples} samples (${prom.familySamples} of the family), the collector ${collectorSamples} (${scrape.familySamples})`
        );
      }
      checkpoints.push({
        series,
        ingest,
        scrape,
        gzipScrape,
        promClient: prom,
        promClientFamily: promFamily,
        waits: { scrapeMs: single.longestMs, concurrentMs: concurrent.longestMs, saveMs: save.longestMs },
        concurrentScrapesMs: concurrent.workMs,
        saveMs: save.workMs,
        rss: memory.rss,
        peakRss,
        heapUsed,
      });
      log(
        `${series} series: scrape ${scrape.medianMs.toFixed(0)} ms (gzip ${gzipScrape.medianMs.toFixed(0)} ms), ` +
          `prom-client ${prom.serverMs?.toFixed(0)} ms; OTLP waited up to ${single.longestMs.toFixed(0)} / ` +
          `${concurrent.longestMs.toFixed(0)} / ${save.longestMs.toFixed(0)} ms (scrape / ${settings.concurrent} scrapes / save); ` +
          `RSS ${(memory.rss / 2 ** 20).toFixed(0)} MiB, peak ${(peakRss / 2 ** 20).toFixed(0)} MiB`
      );
    }
  } finally {
    prober.stop();
  }
  return { heapBefore, rssBefore, checkpoints };
}

async function postText(url: string, text: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: text });
  await res.arrayBuffer();
  if (!res.ok) {
    throw new Error(`${url} answered ${res.status}`);
  }
}
