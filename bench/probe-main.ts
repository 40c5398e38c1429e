/**
 * Child-process entry of the OTLP-wait probe: while the orchestrator has it probing, it posts one small
 * OTLP request at a time, a few ms apart, and answers `stop` with the longest any of them took. A
 * process of its own, so the orchestrator's work (reading and parsing tens of MB of scrape, its GC)
 * never shows up as the collector's delay.
 */
import { post } from './ingest.ts';
import type { Body } from './bodies.ts';

interface ProbeSpec {
  readonly url: string;
  readonly contentType: string;
  readonly body: string;
  readonly intervalMs: number;
}

const spec = JSON.parse(process.argv[2]!) as ProbeSpec;
const body: Body = {
  name: 'probe',
  encoding: 'json',
  contentType: spec.contentType,
  bytes: Buffer.from(spec.body, 'base64'),
  points: 1,
};
let probing: Promise<number> | undefined;
let stopping = false;

async function probe(): Promise<number> {
  let longestMs = 0;
  while (!stopping) {
    const sent = performance.now();
    const { status } = await post(spec.url, body);
    if (status !== 200) {
      throw new Error(`probe request answered ${status}`);
    }
    longestMs = Math.max(longestMs, performance.now() - sent);
    await new Promise((resolve) => setTimeout(resolve, spec.intervalMs));
  }
  return longestMs;
}

process.on('message', (message: 'start' | 'stop') => {
  if (message === 'start') {
    stopping = false;
    probing = probe();
    process.send!({ started: true });
  } else {
    stopping = true;
    void probing!.then(
      (longestMs) => process.send!({ longestMs }),
      (err: unknown) => process.send!({ error: String(err) })
    );
  }
});
process.on('disconnect', () => process.exit(0));
// Warmed up first (connection, JIT): a first request's own start-up is not the collector's delay.
for (let i = 0; i < 50; i++) {
  await post(spec.url, body);
}
process.send!({ ready: true });
