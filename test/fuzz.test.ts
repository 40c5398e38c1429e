/**
 * T7 in every CI run: each decode path (JSON, protobuf, gzip+JSON), as the /v1/metrics handler runs it,
 * takes at least 50,000 generated requests with no crash (anything but a typed 4xx RequestError), no
 * input that takes over 100 ms (and again on a rerun), no unhandled rejection and no heap growth over
 * 50 MB. The inputs are new each run (the seed is printed); `npm run fuzz` (scripts/fuzz.ts) runs the
 * same harness for 1,000,000.
 *
 * FOOTFALL_FUZZ_RUNS raises the iteration count (never below 50,000); FOOTFALL_FUZZ_SEED replays a run.
 */
import { existsSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createFuzzHarness,
  DECODE_PATHS,
  describeInput,
  describeReport,
  fuzzPath,
  HANG_MS,
  type DecodePath,
  type DecodeTarget,
  type FuzzHarness,
  type FuzzReport,
  type Outcome,
} from './fuzz/decode-paths.ts';

const MIN_RUNS = 50_000;
const RUNS = Math.max(MIN_RUNS, Number(process.env.FOOTFALL_FUZZ_RUNS) || 0);
const SEED = process.env.FOOTFALL_FUZZ_SEED === undefined ? undefined : Number(process.env.FOOTFALL_FUZZ_SEED);
/** The slowest path (gzip) does ~2,600 iterations/s on an idle 2-core box; leave room for a busy one. */
const TIMEOUT_MS = 30_000 + RUNS;

function failureText(report: FuzzReport): string {
  const failure = report.failure;
  if (!failure) {
    return describeReport(report);
  }
  return [
    `${report.path}: ${failure.message}`,
    failure.input ? describeInput(failure.input) : 'no input (it happened between iterations)',
    `replay: FOOTFALL_FUZZ_SEED=${failure.seed} FOOTFALL_FUZZ_RUNS=${RUNS}, or node scripts/fuzz.ts --path ${report.path} --seed ${failure.seed} --iterations ${RUNS}`,
    failure.input
      ? `replay the input: node scripts/fuzz.ts --path ${report.path} --input-file ${failure.input.file}`
      : '',
  ].join('\n');
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

function expectAccepted(outcome: Outcome): void {
  expect(outcome.kind, JSON.stringify(outcome)).toBe('accepted');
  expect(outcome.kind === 'accepted' ? outcome.accepted : 0, JSON.stringify(outcome)).toBeGreaterThan(0);
}

function expectRefusedBy(outcome: Outcome, stage: RegExp): void {
  expect(outcome, JSON.stringify(outcome)).toMatchObject({ kind: 'refused', status: 400, reason: 'malformed_body' });
  expect(outcome.kind === 'refused' ? outcome.message : '').toMatch(stage);
}

describe('OTLP decode paths under fuzzing', () => {
  let harness: FuzzHarness;
  beforeAll(async () => {
    harness = await createFuzzHarness();
  });

  describe('each target reaches the decoder it names', () => {
    // A body only one decoder takes yields points through that target and a refusal from the stage that
    // cannot read it through the others: proof the fuzz inputs of a path are decoded by the right codec.
    it('json: an SDK JSON body is accepted; protobuf and gzip bodies fail JSON decoding', async () => {
      const { json } = harness.targets;
      expectAccepted(await json.run(harness.seeds.json[0]!));
      expectRefusedBy(await json.run(harness.seeds.protobuf[0]!), /^invalid JSON/);
      expectRefusedBy(await json.run(harness.seeds.gzipJson[0]!), /^invalid JSON/);
    });

    it('protobuf: an SDK protobuf body is accepted; JSON and gzip bodies fail protobuf decoding', async () => {
      const { protobuf } = harness.targets;
      expectAccepted(await protobuf.run(harness.seeds.protobuf[0]!));
      expectRefusedBy(await protobuf.run(harness.seeds.json[0]!), /^invalid protobuf/);
      expectRefusedBy(await protobuf.run(harness.seeds.gzipJson[0]!), /^invalid protobuf/);
    });

    it('gzip-json: a gzipped SDK JSON body is accepted; plain bodies fail inflating, gzipped protobuf fails JSON decoding', async () => {
      const gzip = harness.targets['gzip-json'];
      expectAccepted(await gzip.run(harness.seeds.gzipJson[0]!));
      expectRefusedBy(await gzip.run(harness.seeds.json[0]!), /^invalid compressed body/);
      expectRefusedBy(await gzip.run(harness.seeds.protobuf[0]!), /^invalid compressed body/);
      expectRefusedBy(await gzip.run(gzipSync(harness.seeds.protobuf[0]!)), /^invalid JSON/);
    });
  });

  for (const path of DECODE_PATHS) {
    it(
      `${path}: ${RUNS} generated requests, no crash, no hang over ${HANG_MS} ms, no unhandled rejection`,
      async () => {
        const report = await fuzzPath(harness, path, { iterations: RUNS, seed: SEED });
        console.log(describeReport(report));
        expect(report.failure, failureText(report)).toBeUndefined();
        expect(report.iterations).toBe(RUNS);
        // The mix must get past the decoder into privacy, limits and aggregation, not only be refused.
        expect(report.accepted, describeReport(report)).toBeGreaterThan(RUNS / 10);
        expect(report.points, describeReport(report)).toBeGreaterThan(RUNS / 10);
      },
      TIMEOUT_MS
    );
  }

  describe('the harness fails on what it looks for', () => {
    /** The harness with one target replaced, fed a fixed input. */
    function withTarget(path: DecodePath, run: DecodeTarget['run'], input: fc.Arbitrary<Uint8Array>): FuzzHarness {
      return {
        ...harness,
        targets: { ...harness.targets, [path]: { ...harness.targets[path], run } },
        inputs: { ...harness.inputs, [path]: input },
      };
    }

    it('reports an error other than a RequestError as a crash, with the shrunk input saved for replay', async () => {
      const broken = withTarget(
        'json',
        async (body) => {
          if (body.length >= 3) {
            throw new TypeError('cannot read properties of undefined');
          }
          return { kind: 'accepted', accepted: 1, rejected: 0 };
        },
        fc.uint8Array({ maxLength: 64 })
      );
      const report = await fuzzPath(broken, 'json', { iterations: 200, seed: 1 });
      expect(report.failure?.kind).toBe('crash');
      expect(report.failure?.message).toMatch(/TypeError: cannot read properties of undefined/);
      expect(report.failure?.input?.bytes).toBe(3);
      expect(existsSync(report.failure!.input!.file)).toBe(true);
      rmSync(report.failure!.input!.file);
    });

    it('reports an input that is slow every time as a hang', async () => {
      const slow = withTarget(
        'protobuf',
        async () => {
          // A fixed amount of work, as a slow code path does: CPU time, not wall time a busy machine stretches.
          const start = process.cpuUsage();
          while (cpuMs(process.cpuUsage(start)) < HANG_MS * 1.5) {}
          return { kind: 'accepted', accepted: 1, rejected: 0 };
        },
        fc.constant(Uint8Array.of(7))
      );
      const report = await fuzzPath(slow, 'protobuf', { iterations: 3, seed: 1 });
      expect(report.failure?.kind).toBe('hang');
      expect(report.failure?.input?.base64).toBe('Bw==');
      rmSync(report.failure!.input!.file);
    });
  });
});
