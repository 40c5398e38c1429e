/**
 * `npm run package` (scripts/package-plugins.ts): the ZIPs Grafana admins install and the plugin
 * catalog takes. On fixture plugins: the layout Grafana unpacks (one `<id>/` folder), checksums that
 * `sha256sum -c` accepts, the same bytes from two runs, and the refusals. On the built plugins: that
 * each archive holds what Grafana and the catalog validator require.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import yauzl, { type Entry } from 'yauzl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePlugins, PackageError } from '../scripts/package-plugins.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/package-plugins.ts');

interface ZipEntry {
  readonly name: string;
  /** Unix mode bits as stored in the archive (type and permissions). */
  readonly mode: number;
  readonly content?: Buffer;
}

async function readZip(path: string): Promise<ZipEntry[]> {
  const zip = await yauzl.openPromise(path, { lazyEntries: true });
  const entries: ZipEntry[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: Entry) => {
      const mode = entry.externalFileAttributes >>> 16;
      if (entry.fileName.endsWith('/')) {
        entries.push({ name: entry.fileName, mode });
        zip.readEntry();
        return;
      }
      zip
        .openReadStreamPromise(entry)
        .then((stream) => buffer(stream))
        .then((content) => {
          entries.push({ name: entry.fileName, mode, content });
          zip.readEntry();
        }, reject);
    });
    zip.on('end', () => resolve());
    zip.on('error', reject);
    zip.readEntry();
  });
  return entries;
}

interface FixtureOptions {
  readonly id: string;
  readonly type?: 'app' | 'panel';
  readonly version?: string;
  /** package.json's version, when it should differ from plugin.json's. */
  readonly packageVersion?: string;
  /** dist files to leave out. */
  readonly omit?: readonly string[];
  /** plugin.json text to write instead of the built one. */
  readonly pluginJson?: string;
  /** plugin.json's `info.links`. */
  readonly links?: ReadonlyArray<{ name: string; url: string }>;
}

/** A plugin package folder as the build leaves it: package.json and a filled-in dist/. */
function makePlugin(parent: string, options: FixtureOptions): string {
  const version = options.version ?? '1.2.3';
  const root = join(parent, options.id);
  const files: Record<string, string> = {
    'plugin.json':
      options.pluginJson ??
      JSON.stringify({
        type: options.type ?? 'panel',
        name: options.id,
        id: options.id,
        info: {
          version,
          updated: '2026-03-04',
          logos: { small: 'img/logo.svg', large: 'img/logo.svg' },
          keywords: ['test'],
          links: options.links ?? [],
        },
        dependencies: { grafanaDependency: '>=11.6.0', plugins: [] },
      }),
    'module.js': `define([], function () { return { plugin: ${JSON.stringify(options.id)} }; });\n`,
    'module.js.map': '{"version":3,"sources":[],"mappings":""}\n',
    LICENSE: 'Apache License\nVersion 2.0, January 2004\n',
    'README.md': `# ${options.id}\n\nA fixture.\n`,
    'CHANGELOG.md': '# Changelog\n\n## 1.2.3\n\n- First.\n',
    'img/logo.svg': '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>\n',
  };
  for (const [path, content] of Object.entries(files)) {
    if (options.omit?.includes(path)) {
      continue;
    }
    mkdirSync(dirname(join(root, 'dist', path)), { recursive: true });
    writeFileSync(join(root, 'dist', path), content);
  }
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({ name: `@fixture/${options.id}`, version: options.packageVersion ?? version })
  );
  return root;
}

function expectedNames(id: string): string[] {
  return [
    `${id}/`,
    `${id}/CHANGELOG.md`,
    `${id}/LICENSE`,
    `${id}/README.md`,
    `${id}/img/`,
    `${id}/img/logo.svg`,
    `${id}/module.js`,
    `${id}/module.js.map`,
    `${id}/plugin.json`,
  ];
}

function runScript(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('package-plugins on fixture plugins', () => {
  let work: string;
  let panel: string;
  let app: string;
  let out: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'footfall-package-'));
    panel = makePlugin(join(work, 'plugins'), { id: 'fixture-usage-panel' });
    app = makePlugin(join(work, 'plugins'), { id: 'fixture-app', type: 'app', version: '2.0.0' });
    out = join(work, 'out');
    await packagePlugins([panel, app], out);
  });

  afterAll(() => {
    if (work) {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('writes <id>-<version>.zip holding exactly <id>/ with the whole dist, files 0644 and folders 0755', async () => {
    expect(readdirSync(out).sort()).toEqual([
      'fixture-app-2.0.0.zip',
      'fixture-app-2.0.0.zip.sha256',
      'fixture-usage-panel-1.2.3.zip',
      'fixture-usage-panel-1.2.3.zip.sha256',
    ]);
    for (const [id, zip, root] of [
      ['fixture-usage-panel', 'fixture-usage-panel-1.2.3.zip', panel],
      ['fixture-app', 'fixture-app-2.0.0.zip', app],
    ] as const) {
      const entries = await readZip(join(out, zip));
      expect(entries.map((e) => e.name).sort()).toEqual(expectedNames(id));
      for (const entry of entries) {
        expect(entry.mode, entry.name).toBe(entry.name.endsWith('/') ? 0o40755 : 0o100644);
        if (entry.content) {
          expect(
            entry.content.equals(readFileSync(join(root, 'dist', entry.name.slice(id.length + 1)))),
            entry.name
          ).toBe(true);
        }
      }
    }
  });

  it('writes .sha256 files that sha256sum -c verifies from the output folder', () => {
    const report = execFileSync(
      'sha256sum',
      ['-c', 'fixture-app-2.0.0.zip.sha256', 'fixture-usage-panel-1.2.3.zip.sha256'],
      {
        cwd: out,
        encoding: 'utf8',
      }
    );
    expect(report).toBe('fixture-app-2.0.0.zip: OK\nfixture-usage-panel-1.2.3.zip: OK\n');
  });

  it('gives the same bytes on a second run, with newer file times and in another time zone', async () => {
    const later = new Date(Date.now() + 86_400_000);
    for (const file of ['module.js', 'plugin.json', 'img/logo.svg']) {
      utimesSync(join(panel, 'dist', file), later, later);
    }
    const zone = process.env.TZ;
    process.env.TZ = 'Pacific/Kiritimati';
    const again = join(work, 'again');
    try {
      await packagePlugins([panel, app], again);
    } finally {
      if (zone === undefined) {
        delete process.env.TZ;
      } else {
        process.env.TZ = zone;
      }
    }
    for (const name of readdirSync(out)) {
      expect(readFileSync(join(again, name)).equals(readFileSync(join(out, name))), name).toBe(true);
    }
  });

  it('refuses a dist without LICENSE, naming the plugin and the file, and writes no archive at all', async () => {
    const parent = join(work, 'no-licence');
    const good = makePlugin(parent, { id: 'fixture-good-panel' });
    const bad = makePlugin(parent, { id: 'fixture-bare-panel', omit: ['LICENSE'] });
    const target = join(parent, 'out');
    const refusal = packagePlugins([good, bad], target);
    await expect(refusal).rejects.toThrow(PackageError);
    await expect(refusal).rejects.toThrow(/fixture-bare-panel: .*dist lacks LICENSE$/);
    expect(existsSync(target) ? readdirSync(target) : []).toEqual([]);
  });

  it('refuses plugin.json with build placeholders left in', async () => {
    const parent = join(work, 'placeholders');
    const raw = JSON.stringify({
      id: 'fixture-raw-panel',
      type: 'panel',
      info: { version: '%VERSION%', updated: '%TODAY%' },
    });
    const root = makePlugin(parent, { id: 'fixture-raw-panel', pluginJson: raw });
    await expect(packagePlugins([root], join(parent, 'out'))).rejects.toThrow(
      /fixture-raw-panel: .*%VERSION% and %TODAY%/
    );
  });

  it("refuses a plugin.json version other than the package's", async () => {
    const parent = join(work, 'stale');
    const root = makePlugin(parent, { id: 'fixture-stale-panel', version: '1.2.3', packageVersion: '1.3.0' });
    await expect(packagePlugins([root], join(parent, 'out'))).rejects.toThrow(
      /fixture-stale-panel: .*version 1\.2\.3, package\.json 1\.3\.0/
    );
  });

  it('as a command, exits 1 with the reason on stderr, and 0 with the archives written', () => {
    const parent = join(work, 'command');
    const bad = makePlugin(parent, { id: 'fixture-unlogged-panel', omit: ['CHANGELOG.md', 'README.md'] });
    const refused = runScript(['--out', join(parent, 'refused'), bad]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/fixture-unlogged-panel: .*dist lacks README\.md, CHANGELOG\.md/);

    const good = makePlugin(parent, { id: 'fixture-logged-panel' });
    const made = runScript(['--out', join(parent, 'made'), good]);
    expect(made.status, made.stderr).toBe(0);
    expect(readdirSync(join(parent, 'made')).sort()).toEqual([
      'fixture-logged-panel-1.2.3.zip',
      'fixture-logged-panel-1.2.3.zip.sha256',
    ]);
    // Installable without links, but the catalog wants them: said, not refused.
    expect(made.stderr).toMatch(
      /note: fixture-logged-panel: plugin\.json lists no links; .* homepage, repository and bugs/
    );
  });

  it('says nothing of links when plugin.json lists them', async () => {
    const parent = join(work, 'linked');
    const root = makePlugin(parent, {
      id: 'fixture-linked-panel',
      links: [{ name: 'Source code', url: 'https://git.example.org/obs/footfall' }],
    });
    const [archive] = await packagePlugins([root], join(parent, 'out'));
    expect(archive!.notes).toEqual([]);
    const made = runScript(['--out', join(parent, 'made'), root]);
    expect(made.status, made.stderr).toBe(0);
    expect(made.stderr).toBe('');
  });
});

describe('npm run package on the built plugins', () => {
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'footfall-artifacts-'));
  });
  afterAll(() => {
    if (out) {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('archives packages/app/dist and packages/panel/dist with everything Grafana and the catalog need', async () => {
    const result = runScript(['--out', out]);
    expect(result.status, result.stderr).toBe(0);
    for (const name of ['app', 'panel']) {
      const dist = join(ROOT, 'packages', name, 'dist');
      const { id, info } = JSON.parse(readFileSync(join(dist, 'plugin.json'), 'utf8')) as {
        id: string;
        info: { version: string };
      };
      const zip = `${id}-${info.version}.zip`;
      const names = (await readZip(join(out, zip))).map((e) => e.name);
      expect(names.filter((n) => !n.startsWith(`${id}/`))).toEqual([]);
      expect(names).toEqual(
        expect.arrayContaining(
          ['plugin.json', 'module.js', 'module.js.map', 'LICENSE', 'README.md', 'CHANGELOG.md', 'img/logo.svg'].map(
            (f) => `${id}/${f}`
          )
        )
      );
      expect(execFileSync('sha256sum', ['-c', `${zip}.sha256`], { cwd: out, encoding: 'utf8' })).toBe(`${zip}: OK\n`);
    }
  });
});
