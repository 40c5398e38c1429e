/**
 * What footfall's two plugins add to create-plugin's webpack config (`.config/webpack/webpack.config.ts`
 * in each plugin package, which the tool owns and rewrites on `create-plugin update`). Each plugin's own
 * `webpack.config.ts` is this applied to the tool's config, as create-plugin documents extending it.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import webpack, { type Configuration } from 'webpack';
import { mergeWithRules } from 'webpack-merge';
import { PluginLinksWebpackPlugin } from './plugin-links.ts';

/** The `--env` flags webpack-cli passes to a config function (create-plugin's `Env`). */
export type WebpackEnv = Record<string, unknown>;
export type WebpackConfigFunction = (env: WebpackEnv) => Promise<Configuration>;

/** What the page hub imports lazily (hub.ts's `loadModel`): the tracker and the OTel SDK. */
const MODEL_ENTRY = fileURLToPath(new URL('../src/model-entry.ts', import.meta.url));
const SWC_LOADER = 'swc-loader';
/** The repository's package.json: where the project lives, for the catalog's links. */
const ROOT_PACKAGE_JSON = fileURLToPath(new URL('../../../package.json', import.meta.url));

/** The condition of create-plugin's rule that compiles TypeScript and JSX, to merge options into it. */
function swcRuleTest(config: Configuration): unknown {
  const rule = config.module?.rules?.find(
    (r) =>
      typeof r === 'object' &&
      r !== null &&
      typeof r.use === 'object' &&
      r.use !== null &&
      'loader' in r.use &&
      r.use.loader === SWC_LOADER
  );
  // Merged into no rule, the JSX setting below would be lost and the plugin would call a React it has not got.
  if (!rule || typeof rule !== 'object') {
    throw new Error(`create-plugin's webpack config has no ${SWC_LOADER} rule to extend`);
  }
  return rule.test;
}

export function footfallPluginConfig(grafanaConfig: WebpackConfigFunction): WebpackConfigFunction {
  return async (env) => {
    const base = await grafanaConfig(env);
    // Where create-plugin's config reads it too: webpack runs in the plugin package's folder.
    const { version } = JSON.parse(readFileSync(resolve(process.cwd(), 'package.json'), 'utf8')) as {
      version: string;
    };
    const footfall: Configuration = {
      cache: {
        type: 'filesystem',
        // webpack-cli adds the plugin's webpack.config.ts; an edit here must invalidate the cache as well.
        buildDependencies: { footfall: [fileURLToPath(import.meta.url)] },
      },
      // The model is a layer of its own, so a module both it and the hub import (machine.ts, settings.ts)
      // is built twice, each copy holding only what its side uses. Shared, it would sit whole in
      // module.js, which every Grafana page loads: twice the gzip size, as the separate bundles were.
      experiments: { layers: true },
      module: {
        rules: [
          { test: MODEL_ENTRY, layer: 'footfall-model' },
          {
            test: swcRuleTest(base),
            // footfall's components import no React: JSX goes through `react/jsx-runtime`, one of the
            // modules Grafana shares, so they render with the page's React 18 or 19.
            use: { loader: SWC_LOADER, options: { jsc: { transform: { react: { runtime: 'automatic' } } } } },
          },
        ],
      },
      // One lazily loaded file: split further, the OTel SDK would be a second request under a made-up name.
      optimization: { splitChunks: false },
      plugins: [
        new webpack.DefinePlugin({ __FOOTFALL_VERSION__: JSON.stringify(version) }),
        new PluginLinksWebpackPlugin(ROOT_PACKAGE_JSON),
      ],
    };
    return mergeWithRules({ module: { rules: { test: 'match', use: 'merge' } } })(base, footfall);
  };
}
