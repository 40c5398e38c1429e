/**
 * The built collector run as users run it (`node dist/main.js`), as a child process. No import of the
 * collector's sources, so plain Node (the benchmarks) can use it as well as the test runner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const COLLECTOR_MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../packages/collector/dist/main.js');

export interface CollectorProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Every line the process wrote to stdout and stderr so far. */
  readonly output: string[];
  stop(): Promise<number | null>;
}

/**
 * Runs the built collector as users do (`node dist/main.js`), on a free port, and waits for its
 * "listening" log line to learn the address.
 */
export async function spawnCollector(args: string[] = [], env: Record<string, string> = {}): Promise<CollectorProcess> {
  const child = spawn(process.execPath, [COLLECTOR_MAIN, '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const url = await listeningUrl(child, output, 'collector');
  return {
    url,
    child,
    output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) {
          return resolve(child.exitCode);
        }
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Waits for a collector child's "listening" log line and gives its URL; meanwhile collects every line
 * it writes to stdout and stderr into `output`. Rejects, with that output, when the child exits first or
 * is not listening within 15 s. `what` names it in the message.
 */
export function listeningUrl(child: ChildProcess, output: string[], what: string): Promise<string> {
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${output.join('\n')}`)), 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}:\n${output.join('\n')}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; address?: string };
        if (entry.msg === 'footfall collector listening' && entry.address) {
          clearTimeout(timer);
          resolve(`http://${entry.address}`);
        }
      } catch {
        // not a log line
      }
    });
  });
}
