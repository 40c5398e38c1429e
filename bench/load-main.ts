import autocannon, { type Instance } from 'autocannon';
import { buildThroughputBody } from './bodies.ts';
import type { LoadMessage, LoadResult, LoadSpec } from './load-protocol.ts';

/**
 * Child-process entry for the load generator: autocannon, pinned to its own CPU by the orchestrator.
 * It builds its body itself (deterministic) rather than receiving bytes, and measures its own CPU so
 * the report can say when the generator, not the server, was the limit.
 */

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const body = await buildThroughputBody(spec.body);

function run(seconds: number): Instance {
  return autocannon({
    url: `${spec.url}/v1/metrics`,
    method: 'POST',
    headers: { 'content-type': body.contentType },
    body: body.bytes,
    connections: spec.connections,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
  });
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) {
    return NaN;
  }
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

// Warm-up: lets the server's JIT settle and the connections open before anything is counted.
await run(spec.warmupSeconds);

// autocannon's own latency histogram has whole-millisecond resolution, too coarse for a server that
// answers in well under a millisecond; each response time is kept here instead.
let latencies = new Float64Array(1 << 16);
let count = 0;
process.send!({ type: 'measuring' } satisfies LoadMessage);
const cpuBefore = process.cpuUsage();
const started = performance.now();
const measured = run(spec.durationSeconds);
measured.on('response', (_client, statusCode, _bytes, ms) => {
  if (statusCode < 200 || statusCode >= 300) {
    return;
  }
  if (count === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[count++] = ms;
});
const result = await measured;
const elapsed = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
const sorted = latencies.subarray(0, count).sort();

const report: LoadResult = {
  requestsPerSecond: result.requests.total / result.duration,
  latencyP50Ms: percentile(sorted, 0.5),
  latencyP99Ms: percentile(sorted, 0.99),
  requests: result.requests.total,
  failures: result.non2xx + result.errors + result.timeouts,
  clientCpu: (cpu.user + cpu.system) / 1e6 / elapsed,
};
process.send!({ type: 'result', result: report } satisfies LoadMessage, () => process.exit(0));
