import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { terminate } from './terminate.ts';

/** A free TCP port on loopback: bind port 0, read the port the kernel chose, let it go. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error('could not learn a free port');
  }
  return address.port;
}

export interface ToolResult {
  /** Exit status; null when the tool was killed. */
  readonly code: number | null;
  /** stdout and stderr together, for failure messages. */
  readonly output: string;
}

/** `promtool <args>`, with `input` on stdin. */
export function promtool(args: readonly string[], input?: string): ToolResult {
  const result = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 20_000 });
  if (result.error) {
    throw result.error;
  }
  return { code: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

/** `promtool check metrics`: 0 = fine, 3 = lint problems, 1 = the text does not parse. */
export function checkMetrics(exposition: string): ToolResult {
  return promtool(['check', 'metrics'], exposition);
}

export interface PrometheusServer {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:9090. */
  readonly url: string;
  readonly child: ChildProcess;
  /** Every line Prometheus logged so far. */
  readonly output: string[];
  /** GET /api/v1/query (instant query at now). */
  query(expr: string): Promise<InstantResult[]>;
  /** GET /api/v1/targets: the active targets. */
  targets(): Promise<ActiveTarget[]>;
  /** Kills Prometheus and removes its directory. */
  stop(): Promise<void>;
}

export interface InstantResult {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface ActiveTarget {
  readonly labels: Readonly<Record<string, string>>;
  readonly scrapePool: string;
  readonly scrapeUrl: string;
  readonly health: string;
  readonly lastError: string;
}

export interface PrometheusOptions {
  readonly job: string;
  /** host:port of each target to scrape (path /metrics). */
  readonly targets: readonly string[];
  /** Rule files' contents (YAML), loaded with `rule_files:` and checked by `promtool check config`. */
  readonly rules?: readonly string[];
}

/**
 * Starts a real `prometheus` on a free loopback port with a one-job configuration that scrapes every
 * second, after `promtool check config` has accepted that configuration. Resolves once /-/ready
 * answers 200.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'footfall-prometheus-'));
  const configPath = join(dir, 'prometheus.yml');
  const targets = options.targets.map((t) => `'${t}'`).join(', ');
  const ruleFiles = (options.rules ?? []).map((text, i) => {
    const file = join(dir, `rules-${i}.yaml`);
    writeFileSync(file, text);
    return file;
  });
  writeFileSync(
    configPath,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      ...(ruleFiles.length > 0 ? ['rule_files:', ...ruleFiles.map((f) => `  - '${f}'`)] : []),
      'scrape_configs:',
      `  - job_name: '${options.job}'`,
      '    static_configs:',
      `      - targets: [${targets}]`,
      '',
    ].join('\n')
  );
  // `check config` checks the rule files it names as well.
  const check = promtool(['check', 'config', configPath]);
  if (check.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`promtool check config failed (${check.code}):\n${check.output}`);
  }

  const port = await freePort();
  const child = spawn(
    'prometheus',
    [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }
  );
  const output: string[] = [];
  const collect = (chunk: Buffer): void => void output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await terminate(child, exited);
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}:\n${output.join('\n')}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`);
      await res.arrayBuffer();
      if (res.status === 200) {
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready in 20 s:\n${output.join('\n')}`);
    }
    await sleep(100);
  }

  return {
    url,
    child,
    output,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as QueryResponse;
      if (body.status !== 'success' || body.data === undefined) {
        throw new Error(`query ${expr} failed: ${res.status} ${body.errorType ?? ''} ${body.error ?? ''}`);
      }
      if (body.data.resultType !== 'vector') {
        throw new Error(`query ${expr} gave a ${body.data.resultType}`);
      }
      return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async targets() {
      const res = await fetch(`${url}/api/v1/targets?state=active`);
      const body = (await res.json()) as { status: string; data: { activeTargets: ActiveTarget[] } };
      if (body.status !== 'success') {
        throw new Error(`/api/v1/targets answered ${res.status}`);
      }
      return body.data.activeTargets;
    },
    stop,
  };
}

interface QueryResponse {
  readonly status: 'success' | 'error';
  readonly errorType?: string;
  readonly error?: string;
  readonly data?: {
    readonly resultType: string;
    readonly result: ReadonlyArray<{ metric: Record<string, string>; value: [number, string] }>;
  };
}

/**
 * Polls `read` until `accept` holds for its result or `timeoutMs` passes; returns the last result
 * either way, so the caller's assertion reports what was seen.
 */
export async function pollUntil<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 30_000,
  intervalMs = 250
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) {
      return value;
    }
    await sleep(intervalMs);
  }
}
