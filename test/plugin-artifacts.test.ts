/**
 * The built plugins as Grafana receives them: `packages/panel/dist/` and `packages/app/dist/` after
 * `npm run build`. Grafana's loader gives a plugin only its shared modules, so any other AMD
 * dependency fails to load, and a bundled React would be a second React next to Grafana's (hooks
 * break across the two). The app's module.js is loaded on every page of every user: it must stay small,
 * with the tracker and the OTel SDK in footfall-model.js, which it loads once there is a dashboard.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import semver from 'semver';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { GRAFANA_SHARED_MODULES } from '../packages/browser/scripts/shared-modules.ts';

interface Built {
  readonly name: 'panel' | 'app';
  readonly id: string;
  readonly dist: string;
  readonly version: string;
}

const PLUGINS: readonly Built[] = (['panel', 'app'] as const).map((name) => ({
  name,
  id: name === 'panel' ? 'footfall-usage-panel' : 'footfall-app',
  dist: fileURLToPath(new URL(`../packages/${name}/dist/`, import.meta.url)),
  version: (JSON.parse(readFileSync(new URL(`../packages/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version,
}));

/** Runs the module the way an AMD loader does, to learn what it asks `define` for. */
function amdDefinition(code: string): { deps: string[]; calls: number } {
  const seen: { deps: string[]; calls: number } = { deps: [], calls: 0 };
  runInNewContext(code, {
    define(deps: unknown, factory: unknown) {
      seen.calls += 1;
      expect(Array.isArray(deps)).toBe(true);
      expect(typeof factory).toBe('function');
      seen.deps = deps as string[];
    },
  });
  return seen;
}

describe.each(PLUGINS)('the $name: dist/module.js and dist/footfall-model.js', ({ dist }) => {
  const source = readFileSync(`${dist}module.js`, 'utf8');
  const model = readFileSync(`${dist}footfall-model.js`, 'utf8');

  test('each is one AMD module whose dependencies are all Grafana shared modules', () => {
    for (const code of [source, model]) {
      const { deps, calls } = amdDefinition(code);
      expect(calls).toBe(1);
      const external = deps.filter((d) => d !== 'exports' && d !== 'module' && d !== 'require');
      expect(external.filter((d) => !GRAFANA_SHARED_MODULES.includes(d))).toEqual([]);
    }
    // The plugin renders with JSX: the runtime must come from Grafana too, or React 19 breaks it.
    expect(amdDefinition(source).deps).toEqual(expect.arrayContaining(['react/jsx-runtime', '@grafana/data', '@grafana/runtime']));
  });

  test('bundle no React and declare nothing outside define()', () => {
    for (const code of [source, model]) {
      for (const marker of [
        'react.transitional.element',
        'react.element',
        '__SECRET_INTERNALS_DO_NOT_USE_OR_YOU_WILL_BE_FIRED',
        '__CLIENT_INTERNALS_DO_NOT_USE_OR_WARN_USERS_THEY_CANNOT_UPGRADE',
      ]) {
        expect(code.includes(marker), marker).toBe(false);
      }
      // Code before define() would run as a classic script and leak globals into Grafana's window.
      expect(code.startsWith('define(')).toBe(true);
    }
  });

  test('module.js stays within the 30 KB gzip budget, with the OTel SDK left to footfall-model.js', () => {
    expect(gzipSync(source, { level: 9 }).byteLength).toBeLessThanOrEqual(30 * 1024);
    // The SDK's MeterProvider is only in the lazily loaded file.
    expect(source).not.toContain('PeriodicExportingMetricReader');
    expect(model).toContain('PeriodicExportingMetricReader');
    expect(gzipSync(model, { level: 9 }).byteLength).toBeLessThanOrEqual(40 * 1024);
  });
});

const pluginJsonSchema = z.object({
  type: z.enum(['panel', 'app']),
  id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*-(panel|app)$/),
  name: z.string().min(1),
  skipDataQuery: z.literal(true).optional(),
  preload: z.boolean().optional(),
  info: z.object({
    keywords: z.array(z.string().min(1)).min(1),
    description: z.string().min(1),
    author: z.object({ name: z.string().min(1) }),
    logos: z.object({ small: z.string().min(1), large: z.string().min(1) }),
    version: z.string(),
    updated: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  }),
  dependencies: z.object({ grafanaDependency: z.string().min(1) }),
});

describe.each(PLUGINS)('the $name: dist/plugin.json', ({ name, id, dist, version }) => {
  const raw = readFileSync(`${dist}plugin.json`, 'utf8');
  const plugin = pluginJsonSchema.parse(JSON.parse(raw));

  test('has the metadata Grafana requires, with the build placeholders filled in', () => {
    expect(plugin.id).toBe(id);
    expect(plugin.type).toBe(name);
    expect(raw).not.toMatch(/%[A-Z]+%/);
    expect(plugin.info.version).toBe(version);
    for (const logo of [plugin.info.logos.small, plugin.info.logos.large]) expect(existsSync(`${dist}${logo}`), logo).toBe(true);
  });

  test(name === 'app' ? 'is preloaded by Grafana on every page, and not enabled in every org unasked' : 'asks Grafana for no queries', () => {
    if (name === 'app') {
      expect(plugin.preload).toBe(true);
      expect(JSON.parse(raw)).not.toHaveProperty('autoEnabled');
    } else {
      expect(plugin.skipDataQuery).toBe(true);
    }
  });

  test('declares the Grafana versions it runs on: 11.6 and later, React 18 and 19', () => {
    const range = plugin.dependencies.grafanaDependency;
    expect(semver.validRange(range)).not.toBeNull();
    // The versions the browser harness loads it with, and the oldest with an external jsx-runtime.
    for (const version of ['11.6.11', '12.4.6', '13.2.2']) expect(semver.satisfies(version, range), version).toBe(true);
    for (const version of ['11.5.0', '12.1.6']) expect(semver.satisfies(version, range), version).toBe(false);
  });
});
