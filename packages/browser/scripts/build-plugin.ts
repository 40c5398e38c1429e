/**
 * Builds a footfall plugin as Grafana loads it: an AMD `dist/module.js` whose dependencies are exactly
 * the shared modules Grafana provides to plugins (never bundled, so the plugin runs on the page's own
 * React 18 or 19 and @grafana/* instances), the lazily loaded `dist/footfall-model.js` (the tracker
 * and the OTel SDK; module.js imports it through SystemJS once there is something to track), and
 * `plugin.json` with its placeholders filled in. Rollup because it writes AMD natively; esbuild
 * (through its rollup plugin) for TypeScript and JSX.
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { rollup, type Plugin } from 'rollup';
import esbuild from 'rollup-plugin-esbuild';
import { isGrafanaShared } from './shared-modules.ts';

const browserRoot = fileURLToPath(new URL('..', import.meta.url));

/** The lazily loaded part, beside module.js in every plugin that ships it. */
export const MODEL_FILE = 'footfall-model.js';

export interface PluginBuild {
  /** The plugin package's folder (with src/module.ts, src/plugin.json, src/img/logo.svg, src/README.md). */
  readonly root: string;
}

function plugins(root: string, version: string): Plugin[] {
  return [
    // The `browser` condition picks the OTel packages' fetch-based builds, not their Node http ones.
    nodeResolve({ browser: true, exportConditions: ['browser'], extensions: ['.mjs', '.js', '.ts', '.tsx', '.json'] }),
    esbuild({
      target: 'es2022',
      jsx: 'automatic',
      minify: true,
      tsconfig: `${root}tsconfig.json`,
      define: { __FOOTFALL_VERSION__: JSON.stringify(version) },
    }),
  ];
}

async function bundle(input: string, file: string, root: string, version: string): Promise<void> {
  const build = await rollup({
    input,
    external: isGrafanaShared,
    plugins: plugins(root, version),
    onwarn(warning, warn) {
      // The OTel packages use `this` at module level in their downlevelled helpers; harmless in AMD.
      if (warning.code === 'THIS_IS_UNDEFINED') return;
      warn(warning);
    },
  });
  await build.write({ file, format: 'amd', sourcemap: true, generatedCode: 'es2015' });
  await build.close();
}

export async function buildPlugin({ root }: PluginBuild): Promise<void> {
  const dist = `${root}dist`;
  const pkg = JSON.parse(await readFile(`${root}package.json`, 'utf8')) as { version: string };
  await rm(dist, { recursive: true, force: true });
  await mkdir(`${dist}/img`, { recursive: true });

  await bundle(`${root}src/module.ts`, `${dist}/module.js`, root, pkg.version);
  await bundle(`${browserRoot}src/model-entry.ts`, `${dist}/${MODEL_FILE}`, root, pkg.version);

  const today = new Date().toISOString().slice(0, 10);
  const pluginJson = (await readFile(`${root}src/plugin.json`, 'utf8')).replaceAll('%VERSION%', pkg.version).replaceAll('%TODAY%', today);
  await writeFile(`${dist}/plugin.json`, pluginJson);
  await copyFile(`${root}src/img/logo.svg`, `${dist}/img/logo.svg`);
  await copyFile(`${root}src/README.md`, `${dist}/README.md`);
  console.log(`built ${dist}/module.js and ${MODEL_FILE}`);
}
