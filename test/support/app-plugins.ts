/**
 * App plugins as Grafana's server knows them, for the harness: the plugin.json in the folder it serves
 * (a built `dist/` or a fixture), the org's setting for it (enabled, jsonData, as provisioning writes
 * them) and whether the signed-in user holds `plugins.app:access` on it. From these come the two
 * things the frontend reads: the boot data's `apps` entry (frontendsettings.go newAppDTO: `preload`
 * only when enabled) and the `GET /api/plugins/<id>/settings` answer (plugins.go
 * GetPluginSettingByID: 403 "Access Denied" without access, else the PluginSetting DTO, whose fields
 * follow pkg/api/dtos/plugins.go).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_SUB_URL } from './boot-data.ts';

/** An app plugin the harness serves, as a test declares it. */
export interface AppPluginOptions {
  /** The folder served at `/grafana/public/plugins/<id>/`: plugin.json, module.js and the rest. */
  readonly dir: string;
  /** The org's `jsonData` for the app (provisioning's `jsonData`); Grafana answers `null` without one. */
  readonly jsonData?: Readonly<Record<string, unknown>> | null;
  /** Whether the user holds `plugins.app:access` (Viewer and up by default; not role None); defaults to true. */
  readonly access?: boolean;
  /** Enabled in the user's org; defaults to true. A disabled app is not preloaded. */
  readonly enabled?: boolean;
}

/** What a test can change on a served app between page loads. */
export type AppPluginSettingsPatch = Partial<Pick<AppPluginOptions, 'jsonData' | 'access' | 'enabled'>>;

interface PluginJson {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly preload?: boolean;
  readonly autoEnabled?: boolean;
  readonly info: {
    readonly version: string;
    readonly updated?: string;
    readonly description?: string;
    readonly author?: { readonly name?: string; readonly url?: string };
    readonly keywords?: readonly string[];
    readonly logos?: { readonly small?: string; readonly large?: string };
    readonly links?: readonly unknown[];
  };
  readonly includes?: readonly unknown[];
  readonly dependencies?: { readonly grafanaDependency?: string; readonly plugins?: readonly unknown[] };
}

export interface ServedApp {
  readonly id: string;
  readonly dir: string;
  /** The boot data `apps[id]` entry (AppPluginConfig). */
  bootEntry(): Record<string, unknown>;
  /** The settings endpoint's answer: status and JSON body. */
  settings(): { readonly status: number; readonly body: unknown };
  update(patch: AppPluginSettingsPatch): void;
}

const EMPTY_EXTENSIONS = {
  addedLinks: [],
  addedComponents: [],
  exposedComponents: [],
  extensionPoints: [],
  addedFunctions: [],
};

/** Reads `dir/plugin.json`; throws when it is missing or not an app, so a wrong folder fails at start. */
export function serveApp(options: AppPluginOptions): ServedApp {
  let plugin: PluginJson;
  try {
    plugin = JSON.parse(readFileSync(join(options.dir, 'plugin.json'), 'utf8')) as PluginJson;
  } catch (error) {
    throw new Error(`no readable plugin.json in the app folder ${options.dir}: ${String(error)}`);
  }
  if (plugin.type !== 'app') {
    throw new Error(`${plugin.id} in ${options.dir} is a ${plugin.type} plugin, not an app`);
  }
  let { jsonData = null, access = true, enabled = true } = options;
  const baseUrl = `public/plugins/${plugin.id}`;
  const dependencies = {
    grafanaDependency: plugin.dependencies?.grafanaDependency ?? '',
    grafanaVersion: '*',
    plugins: plugin.dependencies?.plugins ?? [],
    extensions: { exposedComponents: [] },
  };
  const logo = (file: string | undefined) => (file ? `${baseUrl}/${file}` : '');

  return {
    id: plugin.id,
    dir: options.dir,
    bootEntry: () => ({
      id: plugin.id,
      path: `${baseUrl}/module.js`,
      version: plugin.info.version,
      preload: enabled && plugin.preload === true,
      angular: { detected: false, hideDeprecation: false },
      loadingStrategy: 'script',
      extensions: EMPTY_EXTENSIONS,
      dependencies,
    }),
    settings() {
      if (!access) {
        return { status: 403, body: { message: 'Access Denied' } };
      }
      return {
        status: 200,
        body: {
          name: plugin.name,
          type: 'app',
          id: plugin.id,
          enabled,
          pinned: enabled,
          autoEnabled: plugin.autoEnabled ?? false,
          module: `${baseUrl}/module.js`,
          baseUrl,
          info: {
            author: { name: plugin.info.author?.name ?? '', url: plugin.info.author?.url ?? '' },
            description: plugin.info.description ?? '',
            links: plugin.info.links ?? [],
            logos: { small: logo(plugin.info.logos?.small), large: logo(plugin.info.logos?.large) },
            build: {},
            screenshots: null,
            version: plugin.info.version,
            updated: plugin.info.updated ?? '',
            keywords: plugin.info.keywords ?? null,
          },
          includes: plugin.includes ?? null,
          dependencies,
          extensions: EMPTY_EXTENSIONS,
          jsonData,
          secureJsonFields: {},
          defaultNavUrl: `${APP_SUB_URL}/plugins/${plugin.id}/`,
          latestVersion: '',
          hasUpdate: false,
          state: '',
          signature: 'unsigned',
          signatureType: '',
          signatureOrg: '',
          angularDetected: false,
          loadingStrategy: 'script',
        },
      };
    },
    update(patch) {
      if (patch.jsonData !== undefined) {
        jsonData = patch.jsonData;
      }
      if (patch.access !== undefined) {
        access = patch.access;
      }
      if (patch.enabled !== undefined) {
        enabled = patch.enabled;
      }
    },
  };
}
