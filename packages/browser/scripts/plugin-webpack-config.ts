/**
 * What footfall's two plugins add to create-plugin's webpack config (`.config/webpack/webpack.config.ts`
 * in each plugin package, which the tool owns and rewrites on `create-plugin update`); each plugin's
 * own `webpack.config.ts` is this applied to the tool's config.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import webpack, { type Configuration } from 'webpack';
import { mergeWithRules } from 'webpack-merge';

/** The `--env` flags webpack-cli passes to a config function (create-plugin's `Env`). */
export type WebpackEnv = Record<string, unknown>;
export type WebpackConfigFunction = (env: WebpackEnv) => Promise<Configuration>;

const MODEL_ENTRY = fileURLToPath(new URL('../src/model-entry.ts', import.meta.url));

/** The loader create-plugin compiles TypeScript and JSX with. */
const SWC_LOADER = 'swc-loader';

function swcRuleTest(config: Configuration): unknown {
  const rule = config.module?.rules?.find(
    (r) => typeof r === 'object' && r !== null && typeof r.use === 'object' && r.use !== null && 'loader' in r.use && r.use.loader === SWC_LOADER,
  );
  // Without it the JSX below would go unconfigured and the build would emit React.createElement against no React.
  if (!rule || typeof rule !== 'object') throw new Error(`create-plugin's webpack config has no ${SWC_LOADER} rule to extend`);
  return rule.test;
}

export function footfallPluginConfig(grafanaConfig: WebpackConfigFunction): WebpackConfigFunction {
  return async (env) => {
    const base = await grafanaConfig(env);
    // Read the way create-plugin's config reads it: webpack runs in the plugin package's folder.
    const { version } = JSON.parse(readFileSync(resolve(process.cwd(), 'package.json'), 'utf8')) as { version: string };
    const footfall: Configuration = {
      cache: {
        type: 'filesystem',
        // A change to these must invalidate the persistent cache just as a change to the tool's config does.
        buildDependencies: { footfall: [fileURLToPath(import.meta.url), resolve(process.cwd(), 'webpack.config.ts')] },
      },
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
      // The model chunk stays one file: split, its OTel SDK would be a second request named by webpack.
      optimization: { splitChunks: false },
      plugins: [new webpack.DefinePlugin({ __FOOTFALL_VERSION__: JSON.stringify(version) })],
    };
    return mergeWithRules({ module: { rules: { test: 'match', use: 'merge' } } })(base, footfall);
  };
}
