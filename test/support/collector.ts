import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { configSchema, createCollector, type Collector, type CollectorConfigInput } from '../../packages/collector/src/index.ts';

export interface RunningCollector {
  readonly url: string;
  readonly collector: Collector;
  close(): Promise<void>;
}

/** Starts a collector in this process on a free loopback port, with the given configuration. */
export async function startCollector(input: CollectorConfigInput = {}): Promise<RunningCollector> {
  const config = configSchema.parse({ ...input, server: { listen: '127.0.0.1:0', ...input.server } });
  const collector = createCollector(config, { logger: pino({ level: 'silent' }) });
  const address = await collector.listen();
  return { url: `http://127.0.0.1:${address.port}`, collector, close: () => collector.close() };
}

export interface CollectorProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Every line the process wrote to stdout and stderr so far. */
  readonly output: string[];
  stop(): Promise<number | null>;
}

export const COLLECTOR_MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../packages/collector/dist/main.js');

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
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start:\n${output.join('\n')}`)), 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited with ${code}:\n${output.join('\n')}`));
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
  return {
    url,
    child,
    output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}
