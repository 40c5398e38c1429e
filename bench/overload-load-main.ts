import autocannon, { type AutocannonClient, type Instance } from 'autocannon';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildThroughputBody } from './bodies.ts';
import type { LoadPhase, LoadPlan, OverloadLoadMessage, PhaseRecord } from './overload-protocol.ts';

/**
 * Child-process entry for the overload benchmark's load generator, pinned to the client CPU by the
 * orchestrator. It runs a plan of fixed-rate phases back to back and keeps every answer: its time,
 * latency, status and whether it carried Retry-After (autocannon itself only counts status classes).
 */

// The parts of autocannon 9 used here beyond those bench/autocannon.d.ts declares.
declare module 'autocannon' {
  interface Options {
    /** Requests per second over all connections, as a per-connection quota renewed every second. */
    overallRate?: number;
    /** How often the run checks whether its time is up (ms); the default 1000 overruns a phase by up to a second. */
    sampleInt?: number;
    /** Called with each connection's client before it connects. */
    setupClient?: (client: AutocannonClient) => void;
  }
  interface AutocannonClient {
    on(event: 'request', listener: () => void): this;
    /** http-parser-js's header block: `headers` alternates names and values. */
    on(event: 'headers', listener: (info: { statusCode: number; headers: string[] }) => void): this;
  }
}

const plan = JSON.parse(process.argv[2] ?? '{}') as LoadPlan;
const body = await buildThroughputBody(plan.body);

/**
 * autocannon paces a fixed rate as a quota per connection per second: each connection sends its
 * second's share back to back as soon as the second starts, then waits. With all connections in one
 * run their seconds start together, so the whole second's load arrives in one burst, which a token
 * bucket with a small burst answers mostly with 429 however low the average rate is, and which queues
 * up at the server. Browsers do not arrive like that. So each connection gets a run of its own (up
 * to MAX_RUNS), the runs started evenly over a second: at any moment only a few connections are
 * sending, one request at a time each, as close to an even arrival as autocannon's pacing gets.
 */
const MAX_RUNS = 100;
const STOP_CHECK_MS = 25;

/** A growable typed array: a phase has hundreds of thousands of answers, with no object per answer. */
class Column<T extends Float64Array | Uint16Array | Uint8Array> {
  length = 0;
  private values: T;
  constructor(values: T) {
    this.values = values;
  }
  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new (this.values.constructor as new (n: number) => T)(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }
  done(): T {
    return this.values.subarray(0, this.length) as T;
  }
}

function hasRetryAfter(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === 'retry-after') {
      return true;
    }
  }
  return false;
}

/** Splits n into `parts` whole numbers that differ by at most one. */
function share(n: number, parts: number, index: number): number {
  return Math.floor(n / parts) + (index < n % parts ? 1 : 0);
}

async function runPhase(phase: LoadPhase): Promise<PhaseRecord> {
  // Room for the expected answers up front (the columns grow if needed), within reason for a closed-loop phase.
  const capacity = Math.min(1 << 20, Math.max(1024, Math.ceil(phase.rate * phase.seconds * 1.2)));
  const sentAt = new Column(new Float64Array(capacity));
  const at = new Column(new Float64Array(capacity));
  const latency = new Column(new Float64Array(capacity));
  const status = new Column(new Uint16Array(capacity));
  const retryAfter = new Column(new Uint8Array(capacity));
  const pendingRetryAfter = new Map<AutocannonClient, boolean>();
  let errors = 0;
  let timeouts = 0;

  const runs = Math.min(MAX_RUNS, phase.connections, phase.rate);
  const phaseMs = phase.seconds * 1000;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();

  async function one(index: number): Promise<void> {
    const offsetMs = (index * 1000) / runs;
    await sleep(offsetMs);
    const instance: Instance = autocannon({
      url: `${plan.url}/v1/metrics`,
      method: 'POST',
      headers: { 'content-type': body.contentType },
      body: body.bytes,
      connections: share(phase.connections, runs, index),
      overallRate: share(phase.rate, runs, index),
      pipelining: 1,
      duration: (phaseMs - offsetMs) / 1000,
      sampleInt: STOP_CHECK_MS,
      timeout: 10,
      setupClient(client) {
        client.on('request', () => sentAt.push(performance.now() - started));
        client.on('headers', (info) => pendingRetryAfter.set(client, hasRetryAfter(info.headers)));
      },
    });
    instance.on('response', (client, statusCode, _bytes, ms) => {
      at.push(performance.now() - started);
      latency.push(ms);
      status.push(statusCode);
      retryAfter.push(pendingRetryAfter.get(client as AutocannonClient) ? 1 : 0);
    });
    const result = await instance;
    errors += result.errors - result.timeouts;
    timeouts += result.timeouts;
  }

  await Promise.all(Array.from({ length: runs }, (_, i) => one(i)));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    name: phase.name,
    startedAtMs: started,
    elapsedMs,
    sent: sentAt.length,
    sentAt: sentAt.done(),
    at: at.done(),
    latencyMs: latency.done(),
    status: status.done(),
    retryAfter: retryAfter.done(),
    errors,
    timeouts,
    clientCpu: (cpu.user + cpu.system) / 1000 / elapsedMs,
  };
}

const records: PhaseRecord[] = [];
for (const phase of plan.phases) {
  process.send!({ type: 'phase', name: phase.name } satisfies OverloadLoadMessage);
  records.push(await runPhase(phase));
}
process.send!({ type: 'done', phases: records } satisfies OverloadLoadMessage, () => process.exit(0));
