/**
 * Grafana's preload of app plugins at boot (11.6: app.ts → pluginPreloader.ts `preloadPlugins`; 12.4
 * to 13.x: `preloadAppPluginsToPreload`), run once per full page load and not awaited by the page:
 *
 * - gate: nothing when the user has no org role, nor for an image-renderer session
 *   (`authenticatedBy: 'render'`) with the `rendererDisableAppPluginsPreload` toggle on, a toggle
 *   Grafana 13.1 removed (from there the harness preloads render sessions too);
 * - which apps: those in boot data `apps` with `preload` (Grafana sends it only for apps enabled in
 *   the user's org);
 * - per app, independently: `GET <sub-path>/api/plugins/<id>/settings`, then the module's import,
 *   `plugin.init(meta)` and `plugin.meta = meta` (importAppPlugin). A failure anywhere — 403 from the
 *   settings, a module that does not load or throws, an `init` that throws — is caught and logged with
 *   `console.error` as Grafana logs it; the page carries on.
 */
import { AppPlugin, type AppPluginMeta } from '@grafana/data';
import { config } from '@grafana/runtime';
import type { AppPreloadResult } from './harness-api.ts';
import type { PluginLoader } from './plugin-loader.ts';

/** Grafana's FetchError as far as a logged preload failure shows it. */
class PluginSettingsError extends Error {
  constructor(
    readonly status: number,
    readonly data: unknown
  ) {
    super(`${status} ${(data as { message?: string } | null)?.message ?? ''}`.trim());
    this.name = 'FetchError';
  }
}

/** Grafana's getPluginSettings, by way of backendSrv: the sub-path and the org header added. */
async function pluginSettings(id: string): Promise<AppPluginMeta> {
  const response = await fetch(`${config.appSubUrl}/api/plugins/${encodeURIComponent(id)}/settings`, {
    headers: { accept: 'application/json, text/plain, */*', 'x-grafana-org-id': String(config.bootData.user.orgId) },
  });
  const data: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    throw new PluginSettingsError(response.status, data);
  }
  return data as AppPluginMeta;
}

/** Whether this Grafana version still has the renderer's preload toggle (11.6 to 13.0). */
function hasRendererToggle(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major < 13 || (major === 13 && minor < 1);
}

function message(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export function preloadApps(loader: PluginLoader): Promise<AppPreloadResult[]> {
  const apps = Object.values(config.apps ?? {}).filter((app) => app.preload);
  const user = config.bootData.user;
  const toggles = config.featureToggles as Record<string, boolean | undefined>;
  const skipRender =
    hasRendererToggle(config.buildInfo.version) &&
    toggles['rendererDisableAppPluginsPreload'] === true &&
    user.authenticatedBy === 'render';
  if (user.orgRole === '' || skipRender) {
    return Promise.resolve(apps.map(({ id }) => ({ id, outcome: 'skipped' as const })));
  }

  return Promise.all(
    apps.map(async ({ id, path, version }): Promise<AppPreloadResult> => {
      try {
        const meta = await pluginSettings(id);
        loader.register(meta.id, meta.info.version);
        const exports = await loader.importModule(meta.module);
        const plugin = (exports['plugin'] as AppPlugin | undefined) ?? new AppPlugin();
        plugin.init(meta);
        plugin.meta = meta;
        return { id, outcome: 'loaded' };
      } catch (error) {
        console.error(`[Plugins] Failed to preload plugin: ${path} (version: ${version})`, error);
        return { id, outcome: 'failed', error: message(error) };
      }
    })
  );
}
