/**
 * `npm run package`: one ZIP per Grafana plugin, the archive Grafana admins install (`grafana cli
 * --pluginUrl`, `GF_PLUGINS_PREINSTALL_SYNC`, `GF_INSTALL_PLUGINS`, or unzipped into the plugins
 * folder) and the plugin catalog takes: `<id>-<version>.zip` with the whole `dist/` under one top
 * folder `<id>/`, and beside it `<id>-<version>.zip.sha256` for `sha256sum -c`.
 *
 *   node scripts/package-plugins.ts [--out DIR] [PLUGIN_PACKAGE_DIR...]
 *
 * Defaults: packages/app and packages/panel, into artifacts/ at the repository root. Sign first (the
 * signature, dist/MANIFEST.txt, covers every file, so it is archived as it is) and package after.
 * The archives are reproducible: the same dist gives the same bytes, whenever and wherever it is run.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import yazl from 'yazl';

/** What Grafana and the catalog validator need in every plugin archive. */
export const REQUIRED_FILES = ['plugin.json', 'module.js', 'LICENSE', 'README.md', 'CHANGELOG.md'] as const;

const FILE_MODE = 0o100644;
const DIR_MODE = 0o40755;

export interface PluginArchive {
  readonly id: string;
  readonly version: string;
  /** Absolute path of the ZIP. */
  readonly zip: string;
  /** Absolute path of its `.sha256` file. */
  readonly checksumFile: string;
  readonly sha256: string;
  /** What the archive installs fine without but the plugin catalog wants, one sentence each. */
  readonly notes: readonly string[];
}

/** A plugin that cannot be packaged; the message names the plugin and what is wrong. */
export class PackageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackageError';
  }
}

interface CheckedPlugin {
  readonly id: string;
  readonly version: string;
  readonly dist: string;
  readonly updated: Date;
  readonly notes: readonly string[];
}

/**
 * Packages each plugin package folder's `dist/` into `outDir`. Every plugin is checked before any
 * archive is written, so a refusal leaves no half-made set of archives behind.
 */
export async function packagePlugins(pluginDirs: readonly string[], outDir: string): Promise<PluginArchive[]> {
  const checked: CheckedPlugin[] = [];
  const problems: string[] = [];
  for (const dir of pluginDirs) {
    const result = await checkPlugin(resolve(dir));
    if ('problem' in result) {
      problems.push(result.problem);
    } else {
      checked.push(result);
    }
  }
  if (problems.length > 0) {
    throw new PackageError(problems.join('\n'));
  }

  await mkdir(outDir, { recursive: true });
  const archives: PluginArchive[] = [];
  for (const plugin of checked) {
    archives.push(await writeArchive(plugin, resolve(outDir)));
  }
  return archives;
}

async function checkPlugin(root: string): Promise<CheckedPlugin | { problem: string }> {
  const dist = join(root, 'dist');
  let pkg: { name?: string; version?: string };
  try {
    pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as typeof pkg;
  } catch (err) {
    return { problem: `${root}: cannot read package.json: ${(err as Error).message}` };
  }
  const name = pkg.name ?? root;
  if (!(await isDirectory(dist))) {
    return { problem: `${name}: ${dist} does not exist: build the plugin first (npm run build)` };
  }

  const missing: string[] = [];
  for (const file of REQUIRED_FILES) {
    if (!(await isFile(join(dist, file)))) {
      missing.push(file);
    }
  }
  let raw: string | undefined;
  let metadata: { id?: unknown; info?: { version?: unknown; updated?: unknown; links?: unknown } } = {};
  if (!missing.includes('plugin.json')) {
    raw = await readFile(join(dist, 'plugin.json'), 'utf8');
    try {
      metadata = JSON.parse(raw) as typeof metadata;
    } catch (err) {
      return { problem: `${name}: ${dist}/plugin.json is not valid JSON: ${(err as Error).message}` };
    }
  }
  // Name the plugin the way an admin knows it, by its id, as soon as plugin.json says it.
  const who = typeof metadata.id === 'string' ? metadata.id : name;
  if (missing.length > 0) {
    return { problem: `${who}: ${dist} lacks ${missing.join(', ')}` };
  }

  const placeholders = ['%VERSION%', '%TODAY%'].filter((p) => raw!.includes(p));
  if (placeholders.length > 0) {
    return {
      problem: `${who}: ${dist}/plugin.json still holds ${placeholders.join(' and ')}: the build did not fill it in`,
    };
  }
  if (typeof metadata.id !== 'string' || metadata.id === '') {
    return { problem: `${name}: ${dist}/plugin.json has no id` };
  }
  const version = metadata.info?.version;
  if (version !== pkg.version) {
    return {
      problem: `${who}: ${dist}/plugin.json says version ${String(version)}, package.json ${String(pkg.version)}: rebuild`,
    };
  }
  const updated =
    typeof metadata.info?.updated === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(metadata.info.updated) : null;
  if (!updated) {
    return { problem: `${who}: ${dist}/plugin.json info.updated is not a YYYY-MM-DD date` };
  }
  // ZIP stores local DOS times, which yazl reads with the local-time getters: a date made from local
  // fields reads back the same in every time zone, so the archive does not depend on TZ.
  const date = new Date(Number(updated[1]), Number(updated[2]) - 1, Number(updated[3]));
  const notes: string[] = [];
  if (!Array.isArray(metadata.info?.links) || metadata.info.links.length === 0) {
    notes.push(
      `${who}: plugin.json lists no links; the plugin catalog wants the project's documentation, source and ` +
        "issues: set homepage, repository and bugs in the repository's package.json and rebuild"
    );
  }
  return { id: metadata.id, version: version as string, dist, updated: date, notes };
}

async function writeArchive(plugin: CheckedPlugin, outDir: string): Promise<PluginArchive> {
  const name = `${plugin.id}-${plugin.version}.zip`;
  const zipPath = join(outDir, name);
  const partial = `${zipPath}.partial`;
  const zip = new yazl.ZipFile();
  // Fixed times and modes, no UTC timestamp field (forceDosTimestamp): only the content varies.
  const common = { mtime: plugin.updated, forceDosTimestamp: true };
  zip.addEmptyDirectory(`${plugin.id}/`, { ...common, mode: DIR_MODE });
  for (const entry of await listTree(plugin.dist)) {
    const inZip = `${plugin.id}/${entry.path}`;
    if (entry.directory) {
      zip.addEmptyDirectory(`${inZip}/`, { ...common, mode: DIR_MODE });
    } else {
      zip.addBuffer(await readFile(join(plugin.dist, entry.path)), inZip, { ...common, mode: FILE_MODE });
    }
  }
  const written = finished(zip.outputStream.pipe(createWriteStream(partial)));
  zip.end();
  try {
    await written;
    // A failed run never leaves a file under the final name that looks like a finished archive.
    await rename(partial, zipPath);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }

  const sha256 = createHash('sha256')
    .update(await readFile(zipPath))
    .digest('hex');
  const checksumFile = `${zipPath}.sha256`;
  // sha256sum's own format (two spaces: text mode), with the bare file name so `sha256sum -c` works
  // from the folder the archive is downloaded to.
  await writeFile(checksumFile, `${sha256}  ${name}\n`);
  return { id: plugin.id, version: plugin.version, zip: zipPath, checksumFile, sha256, notes: plugin.notes };
}

interface TreeEntry {
  /** Relative to the walked folder, with `/` separators. */
  readonly path: string;
  readonly directory: boolean;
}

/** Every file and folder under `dir`, each folder before its contents, names in code-unit order. */
async function listTree(dir: string, prefix = ''): Promise<TreeEntry[]> {
  const names = (await readdir(join(dir, prefix))).sort();
  const entries: TreeEntry[] = [];
  for (const name of names) {
    const path = prefix === '' ? name : `${prefix}/${name}`;
    if (await isDirectory(join(dir, path))) {
      entries.push({ path, directory: true }, ...(await listTree(dir, path)));
    } else {
      entries.push({ path, directory: false });
    }
  }
  return entries;
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false
  );
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false
  );
}

const REPO = fileURLToPath(new URL('..', import.meta.url));
const USAGE = 'usage: node scripts/package-plugins.ts [--out DIR] [PLUGIN_PACKAGE_DIR...]\n';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      options: { out: { type: 'string' }, help: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const plugins =
    parsed.positionals.length > 0 ? parsed.positionals : [join(REPO, 'packages/app'), join(REPO, 'packages/panel')];
  const out = resolve(parsed.values.out ?? join(REPO, 'artifacts'));
  try {
    for (const archive of await packagePlugins(plugins, out)) {
      const shown = relative(process.cwd(), archive.zip);
      process.stdout.write(`${shown.startsWith('..') ? archive.zip : shown}  sha256 ${archive.sha256}\n`);
      for (const note of archive.notes) {
        process.stderr.write(`package-plugins: note: ${note}\n`);
      }
    }
    return 0;
  } catch (err) {
    if (!(err instanceof PackageError)) {
      throw err;
    }
    process.stderr.write(`package-plugins: cannot package:\n${err.message}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
