import type { Body } from './bodies.ts';
import { populate, postAccepted } from './ingest.ts';
import type { ServerProcess } from './server-process.ts';

export interface HeapCheckpoint {
  readonly series: number;
  /** heapUsed after full GCs, in bytes. */
  readonly heapUsed: number;
  readonly rss: number;
}

export interface HeapProfile {
  readonly before: HeapCheckpoint;
  readonly after: readonly HeapCheckpoint[];
}

/**
 * Heap growth as series accumulate, in a collector child of its own started with --expose-gc. One
 * request and one scrape go through first so that lazily built things (JIT code, protobuf schema,
 * express router caches, the exporter's first collection) are not billed to the series. After each
 * batch of series a scrape runs before measuring, because the SDK only builds the cumulative state a
 * Prometheus reader keeps per series when it is first collected, and that state is what stays.
 */
export async function profileHeap(
  server: ServerProcess,
  warmUp: Body,
  batches: readonly (readonly Body[])[],
): Promise<HeapProfile> {
  await postAccepted(server.url, warmUp);
  await scrape(server.url);
  const before = await checkpoint(server, 0);
  const after: HeapCheckpoint[] = [];
  let series = 0;
  for (const batch of batches) {
    series += (await populate(server.url, batch)).points;
    await scrape(server.url);
    after.push(await checkpoint(server, series));
  }
  return { before, after };
}

async function scrape(url: string): Promise<void> {
  const res = await fetch(`${url}/metrics`);
  await res.arrayBuffer();
}

async function checkpoint(server: ServerProcess, series: number): Promise<HeapCheckpoint> {
  const memory = await server.heap();
  return { series, heapUsed: memory.heapUsed, rss: memory.rss };
}
