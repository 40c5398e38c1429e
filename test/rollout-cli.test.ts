/**
 * The built `footfall` command run as a process, the way `npx footfall` runs it: over a temporary
 * copy of the dashboard corpus (exit statuses, summary line, --dry-run writing nothing, invalid JSON)
 * and over the Grafana API stand-in (search paging, provisioned dashboards skipped, 401, saves that
 * keep the folder, check passing afterwards).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGrafanaApiStandIn, type GrafanaApiStandIn } from './support/grafana-api-stand-in.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'node_modules', '.bin', 'footfall');
const CORPUS = join(ROOT, 'packages', 'cli', 'testdata', 'dashboards');
const DASHBOARDS_IN_CORPUS = readdirSync(CORPUS).filter((f) => f.endsWith('.json')).length;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function footfall(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done, fail) => {
    // The bin's `#!/usr/bin/env node` must find the pinned Node first, as it does under npx.
    const child = spawn(BIN, args, {
      cwd: ROOT,
      env: {
        ...process.env,
        FOOTFALL_GRAFANA_TOKEN: '',
        ...env,
        PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

/** Every file under a folder with its bytes. */
function snapshot(dir: string): Map<string, string> {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  return new Map(files.map((e) => [join(e.parentPath, e.name), readFileSync(join(e.parentPath, e.name), 'utf8')]));
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'packages', 'cli', 'dist', 'main.js'))) {
    throw new Error('the CLI is not built: run `npm run build` first');
  }
});

describe('footfall dashboards over files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'footfall-cli-'));
    cpSync(CORPUS, dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('check fails, inject changes every dashboard, check then passes apart from the old panels, remove gives the files back', async () => {
    const original = snapshot(dir);
    const before = await footfall(['dashboards', 'check', dir]);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain(
      `${DASHBOARDS_IN_CORPUS} dashboards: 0 pass, ${DASHBOARDS_IN_CORPUS} fail the check, 0 skipped (provisioned), 0 failed`
    );
    expect(before.stderr).toContain('note: skipped');
    expect(before.stderr).toContain('datasources.json');

    const inject = await footfall(['dashboards', 'inject', dir]);
    expect(inject.code).toBe(0);
    expect(inject.stdout).toContain(
      `${DASHBOARDS_IN_CORPUS} dashboards: ${DASHBOARDS_IN_CORPUS} changed, 0 unchanged, 0 skipped (provisioned), 0 failed`
    );
    expect(inject.stdout).toMatch(/^changed .*classic-large\.json$/m);

    const after = await footfall(['dashboards', 'check', dir]);
    expect(after.code).toBe(1);
    const failing = after.stdout.split('\n').filter((l) => l.startsWith('FAIL '));
    expect(failing.map((l) => l.replace(/^FAIL .*[\\/]/, '')).sort()).toEqual([
      'macropower-giantswarm.json',
      'macropower-in-row.json',
      'v2-macropower.json',
    ]);

    const again = await footfall(['dashboards', 'inject', dir]);
    expect(again.stdout).toContain(`${DASHBOARDS_IN_CORPUS} dashboards: 0 changed, ${DASHBOARDS_IN_CORPUS} unchanged`);

    const migrate = await footfall(['dashboards', 'migrate', dir]);
    expect(migrate.code).toBe(0);
    expect(migrate.stdout).toContain('dropped server="/analytics-plugin/write"');
    const passing = await footfall(['dashboards', 'check', dir]);
    expect(passing.code).toBe(0);
    expect(passing.stdout).toContain(
      `${DASHBOARDS_IN_CORPUS} dashboards: ${DASHBOARDS_IN_CORPUS} pass, 0 fail the check`
    );

    const remove = await footfall(['dashboards', 'remove', dir]);
    expect(remove.code).toBe(0);
    const restored = snapshot(dir);
    for (const [file, text] of original) {
      // The migrated dashboards lost the old panel for good; every other file is back byte for byte.
      if (text.includes('macropower-analytics-panel') || text.includes('footfall-usage-panel')) {
        continue;
      }
      expect(restored.get(file), file).toBe(text);
    }
  });

  it('--dry-run prints a diff and writes nothing', async () => {
    const original = snapshot(dir);
    const run = await footfall([
      'dashboards',
      'inject',
      '--dry-run',
      join(dir, 'classic-small.json'),
      join(dir, 'v2-grid.json'),
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^would change .*classic-small\.json$/m);
    expect(run.stdout).toMatch(/^\+\s+"type": "footfall-usage-panel"$/m);
    expect(run.stdout).toMatch(/^-\s+"y": 0,?$/m);
    expect(run.stdout).toContain(
      '2 dashboards: 2 changed, 0 unchanged, 0 skipped (provisioned), 0 failed (dry run: nothing written)'
    );
    expect(run.stderr).toBe('');
    expect(snapshot(dir)).toEqual(original);
  });

  it('reports invalid JSON with the file and where, fails the run, and still does the rest', async () => {
    writeFileSync(join(dir, 'broken.json'), '{\n  "title": "broken",\n  "panels": [\n}\n');
    const run = await footfall(['dashboards', 'inject', dir]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/error: .*broken\.json\n\s+invalid JSON at line 4, column 1/);
    expect(run.stdout).toContain(
      `${DASHBOARDS_IN_CORPUS + 1} dashboards: ${DASHBOARDS_IN_CORPUS} changed, 0 unchanged, 0 skipped (provisioned), 1 failed`
    );
  });

  it('gives a usage error (2) for a path that does not exist or a missing command', async () => {
    expect((await footfall(['dashboards', 'inject', join(dir, 'nope')])).code).toBe(2);
    expect((await footfall(['dashboards', 'frobnicate', dir])).code).toBe(2);
    const help = await footfall(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('footfall dashboards inject|remove|check|migrate');
  });
});

describe('footfall dashboards over the Grafana API', () => {
  const TOKEN = 'glsa_cli_test_token';
  let grafana: GrafanaApiStandIn;
  beforeAll(async () => {
    grafana = await startGrafanaApiStandIn('/grafana');
    grafana.tokens.set(TOKEN, 1);
    // More dashboards than one search page (--page-size 10 below).
    for (let i = 0; i < 23; i++) {
      const stored = grafana.addDashboard(
        `d-${String(i).padStart(2, '0')}`,
        `Dashboard ${i}`,
        i % 2 === 0 ? { folderUid: 'ops', folderTitle: 'Ops' } : {}
      );
      stored.model['panels'] = [{ id: 1, type: 'timeseries', title: 'A', gridPos: { h: 8, w: 12, x: 0, y: 0 } }];
    }
    grafana.addDashboard('prov', 'Provisioned one', { provisioned: true });
    grafana.addDashboard('other-org', 'Another org', { orgId: 2 });
  });
  afterAll(() => grafana.close());

  it('says 401 plainly and exits 4 with a wrong token', async () => {
    const run = await footfall(['dashboards', 'check', '--grafana', grafana.url], { FOOTFALL_GRAFANA_TOKEN: 'wrong' });
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('Grafana answered 401 Unauthorized: the token is missing, wrong or expired');
  });

  it('asks for a token when none is set', async () => {
    const run = await footfall(['dashboards', 'check', '--grafana', grafana.url]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('FOOTFALL_GRAFANA_TOKEN');
  });

  it('injects through search pages, skips the provisioned dashboard, keeps folders, and check passes afterwards', async () => {
    const env = { FOOTFALL_GRAFANA_TOKEN: TOKEN };
    const dry = await footfall(
      ['dashboards', 'inject', '--dry-run', '--page-size', '10', '--grafana', grafana.url],
      env
    );
    expect(dry.stdout).toContain(
      '24 dashboards: 23 changed, 0 unchanged, 1 skipped (provisioned), 0 failed (dry run: nothing written)'
    );
    expect(grafana.saves).toHaveLength(0);

    const run = await footfall(
      ['dashboards', 'inject', '--page-size', '10', '--concurrency', '3', '--grafana', grafana.url],
      env
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('skipped prov (Provisioned one): provisioned');
    expect(run.stdout).toContain('24 dashboards: 23 changed, 0 unchanged, 1 skipped (provisioned), 0 failed');
    expect(run.stderr).toContain('footfall: 24/24 done');
    expect(grafana.calls.get('GET /api/search')).toBeGreaterThanOrEqual(6);
    expect(grafana.saves).toHaveLength(23);
    expect(grafana.saves.every((s) => s.overwrite === false && s.message === 'footfall: inject usage panel')).toBe(
      true
    );
    expect(grafana.dashboards.get('d-00')!.folderUid).toBe('ops');
    expect(grafana.dashboards.get('d-01')!.folderUid).toBeUndefined();
    const saved = grafana.dashboards.get('d-05')!.model['panels'] as Array<Record<string, unknown>>;
    expect(saved[0]).toMatchObject({ type: 'footfall-usage-panel', gridPos: { x: 0, y: 0, w: 24, h: 1 } });
    expect(saved[1]).toMatchObject({ gridPos: { y: 1 } });
    expect(grafana.dashboards.get('other-org')!.version).toBe(1);

    const check = await footfall(['dashboards', 'check', '--grafana', grafana.url], env);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('24 dashboards: 23 pass, 0 fail the check, 1 skipped (provisioned), 0 failed');
  });

  it('works on schema v2 dashboards through the App Platform API: 406 on the classic read, PUT with the resourceVersion, managed ones skipped', async () => {
    const env = { FOOTFALL_GRAFANA_TOKEN: TOKEN };
    const v2 = (file: string) => JSON.parse(readFileSync(join(CORPUS, file), 'utf8')) as Record<string, unknown>;
    const grid = grafana.addDashboard('v2grid', 'v2 grid', { model: v2('v2-grid.json') });
    const tabs = grafana.addDashboard('v2tabs', 'v2 tabs', {
      model: { ...v2('v2-tabs-nested.json'), metadata: { name: 'v2tabs' } },
    });
    const managed = grafana.addDashboard('v2prov', 'v2 provisioned', {
      model: { ...v2('v2-autogrid.json'), metadata: { name: 'v2prov' } },
      provisioned: true,
    });
    try {
      const failing = await footfall(['dashboards', 'check', '--grafana', grafana.url], env);
      expect(failing.code).toBe(1);
      expect(failing.stdout).toMatch(/FAIL v2grid/);
      const saves = grafana.saves.length;
      const run = await footfall(['dashboards', 'inject', '--grafana', grafana.url], env);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain('changed v2grid (V2 grid)');
      expect(run.stdout).toContain('skipped v2prov (V2 auto grid): provisioned');
      expect(grafana.calls.get('PUT /apis/dashboard.grafana.app/v2beta1/namespaces/default/dashboards/v2grid')).toBe(1);
      expect(
        grafana.saves
          .slice(saves)
          .filter((s) => s.uid.startsWith('v2'))
          .map((s) => [s.uid, s.message])
          .sort()
      ).toEqual([
        ['v2grid', 'footfall: inject usage panel'],
        ['v2tabs', 'footfall: inject usage panel'],
      ]);
      expect(grid.version).toBe(2);
      expect(tabs.version).toBe(2);
      expect(managed.version).toBe(1);
      const elements = Object.values(
        (grid.model['spec'] as { elements: Record<string, { spec: { vizConfig: { group?: string } } }> }).elements
      );
      expect(elements.filter((e) => e.spec.vizConfig.group === 'footfall-usage-panel')).toHaveLength(1);
      // The resourceVersion is not part of the stored dashboard, only of what the API serves.
      expect((grid.model['metadata'] as Record<string, unknown>)['resourceVersion']).toBeUndefined();

      const check = await footfall(['dashboards', 'check', '--grafana', grafana.url], env);
      expect(check.code, check.stdout).toBe(0);
      const again = await footfall(['dashboards', 'inject', '--grafana', grafana.url], env);
      expect(again.stdout).toMatch(/\d+ dashboards: 0 changed/);
    } finally {
      for (const uid of ['v2grid', 'v2tabs', 'v2prov']) {
        grafana.dashboards.delete(uid);
      }
    }
  });
});
