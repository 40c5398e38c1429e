/**
 * Builds the plugin as Grafana loads it: one AMD `dist/module.js` whose dependencies are exactly the
 * shared modules Grafana provides to plugins (never bundled, so the panel runs on the page's own
 * React 18 or 19 and @grafana/* instances), plus `plugin.json` with its placeholders filled in.
 * Rollup because it writes AMD natively; esbuild (through its rollup plugin) for TypeScript and JSX.
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { rollup } from 'rollup';
import esbuild from 'rollup-plugin-esbuild';
import { GRAFANA_SHARED_MODULES, isGrafanaShared } from './shared-modules.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;
const pkg = JSON.parse(await readFile(`${root}package.json`, 'utf8')) as { version: string };

await rm(dist, { recursive: true, force: true });
await mkdir(`${dist}/img`, { recursive: true });

const bundle = await rollup({
  input: `${root}src/module.ts`,
  external: isGrafanaShared,
  plugins: [
    // The `browser` condition picks the OTel packages' fetch-based builds, not their Node http ones.
    nodeResolve({ browser: true, exportConditions: ['browser'], extensions: ['.mjs', '.js', '.ts', '.tsx', '.json'] }),
    esbuild({
      target: 'es2022',
      jsx: 'automatic',
      minify: true,
      tsconfig: `${root}tsconfig.json`,
      define: { __FOOTFALL_PANEL_VERSION__: JSON.stringify(pkg.version) },
    }),
  ],
  onwarn(warning, warn) {
    // The OTel packages use `this` at module level in their downlevelled helpers; harmless in AMD.
    if (warning.code === 'THIS_IS_UNDEFINED') return;
    warn(warning);
  },
});
await bundle.write({ file: `${dist}/module.js`, format: 'amd', sourcemap: true, generatedCode: 'es2015' });
await bundle.close();

const today = new Date().toISOString().slice(0, 10);
const pluginJson = (await readFile(`${root}src/plugin.json`, 'utf8')).replaceAll('%VERSION%', pkg.version).replaceAll('%TODAY%', today);
await writeFile(`${dist}/plugin.json`, pluginJson);
await copyFile(`${root}src/img/logo.svg`, `${dist}/img/logo.svg`);
await copyFile(`${root}src/README.md`, `${dist}/README.md`);

console.log(`built ${dist}/module.js (externals allowed: ${GRAFANA_SHARED_MODULES.length})`);
