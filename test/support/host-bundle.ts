/**
 * Builds the harness's host bundle (test/browser/host/host.ts) for one shared-module set with
 * esbuild, into test/browser/.build/<set>/ (git-ignored). A build records every input file's size
 * and modification time; the next call rebuilds only when one of them changed or went away, so an
 * unchanged set costs a few thousand stat calls instead of a multi-second bundle.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { build, version as esbuildVersion, type BuildOptions, type Plugin } from 'esbuild';
import { installedVersion, REPO_ROOT, type SharedModuleSet } from './shared-module-sets.ts';

const HOST_DIR = join(REPO_ROOT, 'test/browser/host');
const BUILD_DIR = join(REPO_ROOT, 'test/browser/.build');

interface Manifest {
  /** esbuild's version, the options and the set: a change to any invalidates the bundle. */
  readonly key: string;
  /** Repository-relative path → [size, mtimeMs]. */
  readonly inputs: Record<string, [number, number]>;
}

const OPTIONS = {
  entryPoints: [join(HOST_DIR, 'host.ts')],
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'chrome120',
  jsx: 'automatic',
  // Grafana ships its production builds; React and @grafana/* pick their code paths from this.
  define: { 'process.env.NODE_ENV': '"production"' },
  // Stylesheets (uPlot, react-grid-layout…) style Grafana's own UI, none of which the harness shows.
  loader: { '.css': 'empty' },
  logLevel: 'silent',
  metafile: true,
} satisfies BuildOptions;

/**
 * Resolves the host's bare imports from the set's folder: the host lives outside both sets, so Node
 * resolution from its own folder would always find the repository's node_modules.
 */
function resolveFromSet(set: SharedModuleSet): Plugin {
  return {
    name: 'shared-module-set',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^[^./]/ }, (args) => {
        if (!args.importer.startsWith(HOST_DIR) || args.pluginData === set) {
          return undefined;
        }
        return pluginBuild.resolve(args.path, { kind: args.kind, resolveDir: set.root, pluginData: set });
      });
    },
  };
}

function readManifest(file: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

function unchanged(manifest: Manifest, key: string): boolean {
  if (manifest.key !== key) {
    return false;
  }
  return Object.entries(manifest.inputs).every(([file, [size, mtimeMs]]) => {
    const stat = statSync(join(REPO_ROOT, file), { throwIfNoEntry: false });
    return stat?.size === size && stat.mtimeMs === mtimeMs;
  });
}

/** Resolves to the bundle's path, building it first when its inputs changed. */
export async function hostBundle(set: SharedModuleSet): Promise<string> {
  const dir = join(BUILD_DIR, set.name);
  const outfile = join(dir, 'host.js');
  const manifestFile = join(dir, 'manifest.json');
  const key = JSON.stringify({ esbuild: esbuildVersion, OPTIONS: { ...OPTIONS, entryPoints: [] }, set: set.name });
  const previous = readManifest(manifestFile);
  if (previous && unchanged(previous, key)) {
    return outfile;
  }

  const react = installedVersion(set, 'react');
  if (Number(react.split('.')[0]) !== set.reactMajor) {
    throw new Error(`${set.name} must run React ${set.reactMajor}, but React ${react} is installed in ${set.root}`);
  }
  mkdirSync(dir, { recursive: true });
  // Two test workers may build the same set at once: each writes its own file and renames it in.
  const temporary = `${outfile}.${randomUUID()}.tmp`;
  const inputs: Manifest['inputs'] = {};
  try {
    const result = await build({
      ...OPTIONS,
      absWorkingDir: REPO_ROOT,
      outfile: temporary,
      plugins: [resolveFromSet(set)],
    });
    const setModules = relative(REPO_ROOT, join(set.root, 'node_modules')) + sep;
    for (const input of Object.keys(result.metafile.inputs)) {
      // A package missing from the set would silently resolve from an outer node_modules.
      if (!input.startsWith(setModules) && !input.startsWith(relative(REPO_ROOT, HOST_DIR) + sep)) {
        throw new Error(`${set.name}: the host bundle took ${input} from outside the set; reinstall the set`);
      }
      const stat = statSync(join(REPO_ROOT, input));
      inputs[input] = [stat.size, stat.mtimeMs];
    }
    renameSync(temporary, outfile);
  } finally {
    rmSync(temporary, { force: true });
  }
  writeFileSync(manifestFile, JSON.stringify({ key, inputs } satisfies Manifest));
  return outfile;
}
