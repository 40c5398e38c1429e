/**
 * The built plugins as Grafana receives them: `packages/panel/dist/` and `packages/app/dist/` after
 * `npm run build`, create-plugin's webpack build. Grafana's loader gives a plugin only its shared
 * modules, so any other AMD dependency fails to load, and a bundled React would be a second React next
 * to Grafana's (hooks break across the two). The app's module.js is loaded on every page of every user:
 * it must stay small, with the tracker and the OTel SDK in the footfall-model.js chunk, which it loads
 * once there is a dashboard. Grafana's plugin validator accepts only what create-plugin's build makes:
 * its banner, `buildMode`, source maps, and the licence, changelog and README beside plugin.json.
 */
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import semver from 'semver';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { pluginLinks, type ProjectLocation } from '../packages/browser/scripts/plugin-links.ts';
import { GRAFANA_SHARED_MODULES } from '../packages/browser/scripts/shared-modules.ts';

interface Built {
  readonly name: 'panel' | 'app';
  readonly id: string;
  readonly root: string;
  readonly dist: string;
  readonly version: string;
}

const REPO = fileURLToPath(new URL('..', import.meta.url));
const MODEL = 'footfall-model.js';

const PLUGINS: readonly Built[] = (['panel', 'app'] as const).map((name) => {
  const root = `${REPO}packages/${name}/`;
  return {
    name,
    id: name === 'panel' ? 'footfall-usage-panel' : 'footfall-app',
    root,
    dist: `${root}dist/`,
    version: (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version,
  };
});

/** Runs the module the way an AMD loader does, to learn what it asks `define` for and what else it sets. */
function amdDefinition(code: string): { deps: string[]; calls: number; globals: string[] } {
  const seen = { deps: [] as string[], calls: 0 };
  const context: Record<string, unknown> = {
    define(deps: unknown, factory: unknown) {
      seen.calls += 1;
      expect(Array.isArray(deps)).toBe(true);
      expect(typeof factory).toBe('function');
      seen.deps = deps as string[];
    },
  };
  runInNewContext(code, context);
  return { ...seen, globals: Object.keys(context) };
}

/** Runs a chunk as the browser runs the script webpack's loader adds: what it leaves on the window. */
function chunkGlobals(code: string): Record<string, unknown> {
  const window: Record<string, unknown> = {};
  window.self = window;
  runInNewContext(code, window);
  const { self: _self, ...globals } = window;
  return globals;
}

const REACT_MARKERS = [
  'react.transitional.element',
  'react.element',
  '__SECRET_INTERNALS_DO_NOT_USE_OR_YOU_WILL_BE_FIRED',
  '__CLIENT_INTERNALS_DO_NOT_USE_OR_WARN_USERS_THEY_CANNOT_UPGRADE',
];

const gzipBytes = (code: string) => gzipSync(code, { level: 9 }).byteLength;

describe.each(PLUGINS)('the $name: dist/module.js and its model chunk', ({ id, root, dist, version }) => {
  const source = readFileSync(`${dist}module.js`, 'utf8');
  const model = readFileSync(`${dist}${MODEL}`, 'utf8');

  test('module.js carries the banner of the create-plugin version that built it', () => {
    const { version: cpVersion } = JSON.parse(readFileSync(`${root}.config/.cprc.json`, 'utf8')) as { version: string };
    expect(source.startsWith(`/* [create-plugin] version: ${cpVersion} */`)).toBe(true);
    expect(source).toContain(`/* [create-plugin] plugin: ${id}@${version} */`);
  });

  test('module.js is one AMD module whose dependencies are all Grafana shared modules, and sets no global', () => {
    const { deps, calls, globals } = amdDefinition(source);
    expect(calls).toBe(1);
    const external = deps.filter((d) => d !== 'exports' && d !== 'module' && d !== 'require');
    expect(external.filter((d) => !GRAFANA_SHARED_MODULES.includes(d))).toEqual([]);
    // The plugin renders with JSX: the runtime must come from Grafana too, or React 19 breaks it.
    expect(deps).toEqual(expect.arrayContaining(['react/jsx-runtime', '@grafana/data', '@grafana/runtime']));
    // Code outside define() would run as a classic script and leak globals into Grafana's window.
    expect(globals).toEqual(['define']);
  });

  test('the model chunk sets one global, the one module.js reads its chunks from', () => {
    const globals = chunkGlobals(model);
    expect(Object.keys(globals)).toHaveLength(1);
    const [name, chunks] = Object.entries(globals)[0]!;
    expect(Array.isArray(chunks) && chunks.length).toBe(1);
    expect(source).toContain(name);
  });

  test('neither bundles React', () => {
    for (const code of [source, model]) {
      for (const marker of REACT_MARKERS) {
        expect(code.includes(marker), marker).toBe(false);
      }
    }
  });

  test('module.js stays within the 30 KB gzip budget; the OTel SDK is only in the model chunk, which it loads by name', () => {
    expect(gzipBytes(source)).toBeLessThanOrEqual(30 * 1024);
    expect(source).not.toContain('PeriodicExportingMetricReader');
    expect(model).toContain('PeriodicExportingMetricReader');
    expect(source).toContain(MODEL);
    expect(gzipBytes(model)).toBeLessThanOrEqual(40 * 1024);
    // One lazily loaded file: a split chunk would be a further request, under a name webpack makes up.
    expect(readdirSync(dist).filter((f) => f.endsWith('.js'))).toEqual([MODEL, 'module.js'].sort());
  });

  test("every script has its source map, mapping back to footfall's TypeScript", () => {
    for (const [file, entry] of [
      ['module.js', 'module.ts'],
      [MODEL, 'model-entry.ts'],
    ] as const) {
      const code = readFileSync(`${dist}${file}`, 'utf8');
      const url = /\/\/# sourceMappingURL=([^\s?]+)/.exec(code)?.[1];
      expect(url, file).toBe(`${file}.map`);
      const map = JSON.parse(readFileSync(`${dist}${url}`, 'utf8')) as { version: number; sources: string[] };
      expect(map.version).toBe(3);
      expect(
        map.sources.some((s) => s.endsWith(`/${entry}`)),
        `${file} maps ${entry}`
      ).toBe(true);
    }
  });
});

describe('the app and the panel on one page', () => {
  test("their model chunks register under different globals, so neither takes the other's", () => {
    const names = PLUGINS.map(({ dist }) => Object.keys(chunkGlobals(readFileSync(`${dist}${MODEL}`, 'utf8')))[0]);
    expect(new Set(names).size).toBe(PLUGINS.length);
  });
});

describe.each(PLUGINS)('the $name: the files beside plugin.json', ({ root, dist }) => {
  test("LICENSE and CHANGELOG.md are the repository's, as files (not links to outside the plugin)", () => {
    for (const file of ['LICENSE', 'CHANGELOG.md']) {
      expect(lstatSync(`${dist}${file}`).isFile(), file).toBe(true);
      expect(readFileSync(`${dist}${file}`, 'utf8'), file).toBe(readFileSync(`${REPO}${file}`, 'utf8'));
    }
  });

  test("README.md is the plugin's catalog page, with the build placeholders filled in", () => {
    const readme = readFileSync(`${dist}README.md`, 'utf8');
    expect(readme).not.toMatch(/%[A-Z_]+%/);
    const title = readFileSync(`${root}src/README.md`, 'utf8').split('\n')[0]!;
    expect(readme.split('\n')[0]).toBe(title);
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
  buildMode: z.string().optional(),
});

describe.each(PLUGINS)('the $name: dist/plugin.json', ({ name, id, dist, version }) => {
  const raw = readFileSync(`${dist}plugin.json`, 'utf8');
  const plugin = pluginJsonSchema.parse(JSON.parse(raw));

  test('has the metadata Grafana requires, with the build placeholders filled in', () => {
    expect(plugin.id).toBe(id);
    expect(plugin.type).toBe(name);
    expect(raw).not.toMatch(/%[A-Z]+%/);
    expect(plugin.info.version).toBe(version);
    for (const logo of [plugin.info.logos.small, plugin.info.logos.large]) {
      expect(existsSync(`${dist}${logo}`), logo).toBe(true);
    }
  });

  test('says it is a production build', () => {
    expect(plugin.buildMode).toBe('production');
  });

  test("links the catalog page to the project's home, source and issues, as the repository's package.json names them", () => {
    const src = JSON.parse(readFileSync(`${REPO}packages/${name}/src/plugin.json`, 'utf8')) as {
      info: { links: unknown[] };
    };
    const location = JSON.parse(readFileSync(`${REPO}package.json`, 'utf8')) as ProjectLocation;
    const expected = src.info.links.length > 0 ? src.info.links : pluginLinks(location);
    expect(JSON.parse(raw).info.links).toEqual(expected);
  });

  test(
    name === 'app'
      ? 'is preloaded by Grafana on every page, and not enabled in every org unasked'
      : 'asks Grafana for no queries',
    () => {
      if (name === 'app') {
        expect(plugin.preload).toBe(true);
        expect(JSON.parse(raw)).not.toHaveProperty('autoEnabled');
      } else {
        expect(plugin.skipDataQuery).toBe(true);
      }
    }
  );

  test('declares the Grafana versions it runs on: 11.6 and later, React 18 and 19', () => {
    const range = plugin.dependencies.grafanaDependency;
    expect(semver.validRange(range)).not.toBeNull();
    // The versions the browser harness loads it with, and the oldest with an external jsx-runtime.
    for (const version of ['11.6.11', '12.4.6', '13.2.2']) {
      expect(semver.satisfies(version, range), version).toBe(true);
    }
    for (const version of ['11.5.0', '12.1.6']) {
      expect(semver.satisfies(version, range), version).toBe(false);
    }
  });
});

describe('the catalog links the build gives a plugin without links of its own', () => {
  test('from homepage, repository and bugs, in the shapes npm accepts, as addresses a browser opens', () => {
    expect(
      pluginLinks({
        homepage: 'https://footfall.example.org/docs',
        repository: { type: 'git', url: 'git+https://git.example.org/obs/footfall.git', directory: 'packages/app' },
        bugs: { url: 'https://git.example.org/obs/footfall/issues' },
      })
    ).toEqual([
      { name: 'Documentation', url: 'https://footfall.example.org/docs' },
      { name: 'Source code', url: 'https://git.example.org/obs/footfall' },
      { name: 'Report an issue', url: 'https://git.example.org/obs/footfall/issues' },
    ]);
    for (const [repository, url] of [
      ['github:obs/footfall', 'https://github.com/obs/footfall'],
      ['obs/footfall', 'https://github.com/obs/footfall'],
      ['git@git.example.org:obs/footfall.git', 'https://git.example.org/obs/footfall'],
      ['git://git.example.org/obs/footfall.git', 'https://git.example.org/obs/footfall'],
      ['ssh://git@git.example.org/obs/footfall.git', 'https://git.example.org/obs/footfall'],
    ] as const) {
      expect(pluginLinks({ repository }), repository).toEqual([{ name: 'Source code', url }]);
    }
  });

  test('none for what is not an address: nothing, empty strings, other types, a local path', () => {
    expect(pluginLinks({})).toEqual([]);
    expect(pluginLinks({ homepage: ' ', repository: { url: 42 }, bugs: null })).toEqual([]);
    expect(pluginLinks({ repository: 'file:../footfall' })).toEqual([]);
    expect(pluginLinks({ repository: '../footfall' })).toEqual([]);
  });
});
