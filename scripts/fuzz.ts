/**
 * `npm run fuzz`: the long fuzz run (T7: 1,000,000 iterations per decode path with no crash, no
 * iteration over 100 ms, no unhandled rejection, no heap growth over 50 MB). The CI suite runs the same
 * harness for 50,000 iterations per path (test/fuzz.test.ts); this is for nightly and pre-release runs,
 * and for replaying a failure. Needs the built collector (`tsc -b`).
 *
 *   node scripts/fuzz.ts [--iterations N] [--path json|protobuf|gzip-json|all] [--seed S]
 *   node scripts/fuzz.ts --path P --input BASE64 | --input-file FILE
 *       runs one reported input through one path and prints the outcome (or the crash)
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  createFuzzHarness,
  DECODE_PATHS,
  describeInput,
  describeReport,
  fuzzPath,
  type DecodePath,
  type FuzzHarness,
  type FuzzReport,
} from '../test/fuzz/decode-paths.ts';

const USAGE = `usage: node scripts/fuzz.ts [--iterations N] [--path json|protobuf|gzip-json|all] [--seed S]
       node scripts/fuzz.ts --path json|protobuf|gzip-json (--input BASE64 | --input-file FILE)
`;
const DEFAULT_ITERATIONS = 1_000_000;
const PROGRESS_EVERY = 50_000;

interface Options {
  readonly iterations: number;
  readonly paths: readonly DecodePath[];
  readonly seed: number | undefined;
  /** One input to replay instead of a run. */
  readonly input: Buffer | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      iterations: { type: 'string' },
      path: { type: 'string', default: 'all' },
      seed: { type: 'string' },
      input: { type: 'string' },
      'input-file': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const iterations = values.iterations === undefined ? DEFAULT_ITERATIONS : Number(values.iterations);
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new Error(`--iterations must be a positive integer, got ${values.iterations}`);
  }
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isSafeInteger(seed)) {
    throw new Error(`--seed must be an integer, got ${values.seed}`);
  }
  const path = values.path;
  if (path !== 'all' && !isDecodePath(path)) {
    throw new Error(`--path must be one of ${DECODE_PATHS.join(', ')} or all, got ${path}`);
  }
  const fileInput = values['input-file'];
  const input =
    values.input !== undefined
      ? Buffer.from(values.input, 'base64')
      : fileInput !== undefined
        ? readFileSync(fileInput)
        : undefined;
  if (input !== undefined && path === 'all') {
    throw new Error('--input and --input-file need one --path');
  }
  return { iterations, paths: path === 'all' ? DECODE_PATHS : [path], seed, input };
}

function isDecodePath(value: string): value is DecodePath {
  return (DECODE_PATHS as readonly string[]).includes(value);
}

/** Replays one reported input: prints what the collector made of it, or the crash. */
async function replay(harness: FuzzHarness, path: DecodePath, input: Buffer): Promise<number> {
  try {
    const started = performance.now();
    const outcome = await harness.targets[path].run(input);
    process.stdout.write(`${path}: ${(performance.now() - started).toFixed(1)} ms\n`);
    process.stdout.write(`${path}: ${JSON.stringify(outcome)}\n`);
    return 0;
  } catch (err) {
    process.stdout.write(`${path}: crash: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

function printFailure(report: FuzzReport, iterations: number): void {
  const failure = report.failure!;
  const lines = [
    `${report.path}: FAILED (${failure.kind})`,
    failure.message,
    `reproduce the run: node scripts/fuzz.ts --path ${report.path} --iterations ${iterations} --seed ${failure.seed}`,
  ];
  if (failure.counterexamplePath) {
    lines.push(`fast-check replay: { seed: ${failure.seed}, path: "${failure.counterexamplePath}" }`);
  }
  if (failure.input) {
    lines.push(describeInput(failure.input));
    lines.push(`replay the input: node scripts/fuzz.ts --path ${report.path} --input-file ${failure.input.file}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const harness = await createFuzzHarness();
  if (options.input !== undefined) {
    return replay(harness, options.paths[0]!, options.input);
  }

  let failed = false;
  for (const path of options.paths) {
    const report = await fuzzPath(harness, path, {
      iterations: options.iterations,
      seed: options.seed,
      progressEvery: PROGRESS_EVERY,
      onProgress: (stats) =>
        process.stdout.write(
          `${path}: ${stats.iterations}/${options.iterations}, slowest ${stats.slowestMs.toFixed(1)} ms, ${stats.points} points recorded\n`
        ),
    });
    process.stdout.write(`${describeReport(report)}\n`);
    if (report.failure) {
      failed = true;
      printFailure(report, options.iterations);
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
