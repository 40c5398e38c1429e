/**
 * The collector as npm users get it: `npm pack` of the workspace, installed from the tarball into an
 * empty folder (its dependencies from the registry or the npm cache), run from its bin. A file the
 * build leaves out of `files`, a bin without its shebang or a dependency declared only at the root
 * would pass every other suite, which run the collector from this checkout.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listeningUrl } from './support/collector-process.ts';
import { scrape, sumOf } from './support/exposition.ts';
import { sessionsRequest } from './support/otlp.ts';
import { terminate } from './support/terminate.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const COLLECTOR = join(ROOT, 'packages/collector');
const INSTALL_TIMEOUT_MS = 240_000;

interface PackResult {
  readonly filename: string;
  readonly version: string;
  readonly files: ReadonlyArray<{ readonly path: string }>;
}

/**
 * The child's environment: this Node first on PATH, so the bin's `#!/usr/bin/env node` and npm run
 * on the Node the tests run on, and no FOOTFALL_* setting from the caller's shell.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('FOOTFALL_')) {
      env[key] = value;
    }
  }
  env.PATH = [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter);
  return env;
}

describe('the collector as an npm package', () => {
  let work: string;
  let pack: PackResult;
  let app: string;
  const env = cleanEnv();

  beforeAll(async () => {
    if (!existsSync(join(COLLECTOR, 'dist/main.js'))) {
      throw new Error('packages/collector/dist/main.js is missing: run `npm run build` first (npm test does)');
    }
    work = mkdtempSync(join(tmpdir(), 'footfall-pack-'));
    // --ignore-scripts: pack what the build made, without a prepack rebuild racing the other suites.
    const packed = await run(
      'npm',
      ['pack', '--json', '--ignore-scripts', '--pack-destination', work, '-w', '@footfall/collector'],
      {
        cwd: ROOT,
        env,
        maxBuffer: 16 * 1024 * 1024,
      }
    );
    const results = JSON.parse(packed.stdout) as PackResult[];
    expect(results).toHaveLength(1);
    pack = results[0]!;

    app = join(work, 'app');
    mkdirSync(app);
    // A package.json of its own keeps npm from looking for a project further up the tree.
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'footfall-pack-check', private: true }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, pack.filename)], {
      cwd: app,
      env,
      timeout: INSTALL_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
  }, INSTALL_TIMEOUT_MS + 30_000);

  afterAll(() => {
    if (work) {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('packs the built collector and what it reads at run time, and no tests or sources', () => {
    const paths = pack.files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'LICENSE',
        'README.md',
        'dist/main.js',
        'dist/index.js',
        'dist/index.d.ts',
        'proto/otlp-metrics.proto',
        'footfall.example.yaml',
      ])
    );
    expect(paths.filter((p) => p.includes('.test.'))).toEqual([]);
    expect(paths.filter((p) => p.startsWith('src/') || /(^|\/)(testing|testdata)\//.test(p))).toEqual([]);
    expect(paths.filter((p) => p.endsWith('.tsbuildinfo'))).toEqual([]);
  });

  it('answers --version through npx with the package version', async () => {
    const { stdout } = await run('npx', ['--no', '--', 'footfall-collector', '--version'], {
      cwd: app,
      env,
      timeout: 30_000,
    });
    expect(stdout.trim()).toBe(pack.version);
  });

  it('runs from its installed bin: healthy, takes an OTLP export, shows it on /metrics, stops cleanly on SIGTERM', async () => {
    // The bin link itself, not `node dist/main.js`: this is what fails without the shebang or the
    // executable bit.
    const child: ChildProcess = spawn(join(app, 'node_modules/.bin/footfall-collector'), ['--listen', '127.0.0.1:0'], {
      cwd: app,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const output: string[] = [];
    try {
      const url = await listeningUrl(child, output, 'the installed collector');

      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);

      const exported = await fetch(`${url}/v1/metrics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(sessionsRequest([{ uid: 'packed', value: 3 }])),
      });
      expect(exported.status).toBe(200);
      const { samples } = await scrape(url);
      expect(sumOf(samples, 'grafana_analytics_sessions_total', { dashboard_uid: 'packed' })).toBe(3);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
    } finally {
      await terminate(child, exited);
    }
  });
});
