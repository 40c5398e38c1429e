import type { Body } from './bodies.ts';
import { post } from './ingest.ts';
import { median } from './stats.ts';

export interface ScrapeTiming {
  /** The first scrape after ingest: the SDK builds its cumulative state for every new series here. */
  readonly firstMs: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly bytes: number;
  /** Samples of the family the benchmark filled; proves the series were really all there. */
  readonly familySamples: number;
}

/** GET /metrics, timed from request to the last byte read, as a Prometheus scraper sees it. */
async function scrapeOnce(url: string): Promise<{ ms: number; text: string }> {
  const started = performance.now();
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return { ms, text };
}

function countSamples(text: string, family: string): number {
  const prefix = `${family}{`;
  let count = 0;
  for (const line of text.split('\n')) if (line.startsWith(prefix)) count++;
  return count;
}

export async function timeScrapes(url: string, repeats: number, family: string): Promise<ScrapeTiming> {
  const first = await scrapeOnce(url);
  const times: number[] = [];
  let last = first;
  for (let i = 0; i < repeats; i++) {
    last = await scrapeOnce(url);
    times.push(last.ms);
  }
  return {
    firstMs: first.ms,
    medianMs: median(times),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    bytes: Buffer.byteLength(last.text),
    familySamples: countSamples(last.text, family),
  };
}

/** Gap between probe requests: frequent enough to land inside any stall longer than a few ms. */
const PROBE_INTERVAL_MS = 5;

/**
 * The longest an OTLP request waits while a scrape runs. Node serves both on one thread, so whatever
 * part of the scrape runs synchronously holds every browser's export back for that long.
 */
export async function ingestWaitDuringScrape(url: string, probe: Body): Promise<number> {
  let scraping = true;
  const scrape = scrapeOnce(url).finally(() => {
    scraping = false;
  });
  let longest = 0;
  while (scraping) {
    const started = performance.now();
    const { status } = await post(url, probe);
    if (status !== 200) throw new Error(`probe request answered ${status}`);
    longest = Math.max(longest, performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
  }
  await scrape;
  return longest;
}
