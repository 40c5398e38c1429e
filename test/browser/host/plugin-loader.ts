/**
 * How Grafana turns a plugin's module path into a SystemJS import (public/app/features/plugins/
 * loader: importPluginModule, systemjsHooks, cache): the path the plugin settings give
 * (`public/plugins/<id>/module.js`) is taken under the app's sub-path, and the SystemJS resolve hook
 * appends `?_cache=<plugin version>` to every `module.js` URL. Grafana 12 and later bust every
 * plugin `.js` this way, 11.6 only `module.js`; the harness does what all of them do, so an app that
 * imports a file of its own by absolute URL must not depend on the query either way.
 */
import type { SystemJs } from './shared-modules.ts';

export interface PluginLoader {
  /** Grafana's registerPluginInCache: the version becomes the plugin's cache buster. */
  register(pluginId: string, version: string): void;
  /** SystemJS-imports a module path as the plugin settings or boot data give it. */
  importModule(path: string): Promise<Record<string, unknown>>;
}

const PLUGIN_MODULE = /\/public\/plugins\/([^/]+)\/(?:.*\/)?module\.js$/;

export function createPluginLoader(system: SystemJs, appSubUrl: string): PluginLoader {
  const versions = new Map<string, string>();
  // Grafana's default buster for a plugin it has no version for: when the loader was set up.
  const initialisedAt = Date.now();

  const resolve = system.resolve.bind(system);
  system.resolve = (id, parentUrl) => {
    const url = resolve(id, parentUrl);
    const match = PLUGIN_MODULE.exec(url);
    if (!match) {
      return url;
    }
    return `${url}?_cache=${encodeURI(versions.get(match[1]!) ?? String(initialisedAt))}`;
  };

  return {
    register(pluginId, version) {
      if (!versions.has(pluginId)) {
        versions.set(pluginId, version);
      }
    },
    importModule(path) {
      const absolute = /^(https?:)?\//.test(path) ? path : `${appSubUrl}/${path}`;
      return system.import(absolute);
    },
  };
}
