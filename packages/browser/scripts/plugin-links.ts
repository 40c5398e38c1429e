/**
 * The links of a plugin's catalog page (plugin.json `info.links`), from the one place the project says
 * where it lives: the repository's root package.json, `homepage`, `repository` and `bugs`, as npm reads
 * them. The build fills them into each plugin's plugin.json, unless that lists links of its own.
 */
import { readFileSync } from 'node:fs';
import webpack, { type Compiler } from 'webpack';

export interface PluginLink {
  readonly name: string;
  readonly url: string;
}

/** The fields of a package.json that say where a project lives, in any of the shapes npm accepts. */
export interface ProjectLocation {
  readonly homepage?: unknown;
  readonly repository?: unknown;
  readonly bugs?: unknown;
}

/** `url` of `{ url }`, or the string itself; undefined for anything else. */
function urlOf(field: unknown): string | undefined {
  const value = typeof field === 'object' && field !== null && 'url' in field ? (field as { url: unknown }).url : field;
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * The address a browser opens for a repository URL as npm accepts it: `git+https://…/x.git` and
 * `git://…` become `https://…/x`; `github:owner/name` and bare `owner/name` a GitHub address. Undefined
 * for what is no web address (an ssh URL with no host form, a local path).
 */
function browsableRepository(url: string): string | undefined {
  const shorthand = /^(?:github:)?([\w-][\w.-]*\/[\w-][\w.-]*)$/.exec(url);
  if (shorthand) {
    return `https://github.com/${shorthand[1]!.replace(/\.git$/, '')}`;
  }
  const scp = /^git@([\w.-]+):(.+)$/.exec(url);
  const candidate = scp
    ? `https://${scp[1]}/${scp[2]}`
    : url.replace(/^git\+/, '').replace(/^(?:git|ssh):\/\/(?:git@)?/, 'https://');
  try {
    const parsed = new URL(candidate);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      return undefined;
    }
    parsed.pathname = parsed.pathname.replace(/\.git$/, '');
    return parsed.href.replace(/\/$/, '');
  } catch {
    return undefined;
  }
}

/** Documentation, source code and issues, each only when the package says it; in that order. */
export function pluginLinks(location: ProjectLocation): PluginLink[] {
  const links: PluginLink[] = [];
  const homepage = urlOf(location.homepage);
  if (homepage) {
    links.push({ name: 'Documentation', url: homepage });
  }
  const repository = urlOf(location.repository);
  const source = repository === undefined ? undefined : browsableRepository(repository);
  if (source) {
    links.push({ name: 'Source code', url: source });
  }
  const bugs = urlOf(location.bugs);
  if (bugs) {
    links.push({ name: 'Report an issue', url: bugs });
  }
  return links;
}

const PLUGIN_JSON = 'plugin.json';

/** Fills `info.links` of the plugin.json the build emits, when it lists none, from `packageJsonFile`. */
export class PluginLinksWebpackPlugin {
  private readonly packageJsonFile: string;

  constructor(packageJsonFile: string) {
    this.packageJsonFile = packageJsonFile;
  }

  apply(compiler: Compiler): void {
    compiler.hooks.thisCompilation.tap(PluginLinksWebpackPlugin.name, (compilation) => {
      compilation.fileDependencies.add(this.packageJsonFile);
      compilation.hooks.processAssets.tap(
        // After create-plugin's copy of src/plugin.json, which is an addition as well.
        { name: PluginLinksWebpackPlugin.name, stage: webpack.Compilation.PROCESS_ASSETS_STAGE_ADDITIONS },
        () => {
          const asset = compilation.getAsset(PLUGIN_JSON);
          if (!asset) {
            return;
          }
          const text = asset.source.source().toString();
          const metadata = JSON.parse(text) as { info?: { links?: unknown[] } };
          if (!metadata.info || (metadata.info.links?.length ?? 0) > 0) {
            return;
          }
          const links = pluginLinks(JSON.parse(readFileSync(this.packageJsonFile, 'utf8')) as ProjectLocation);
          if (links.length === 0) {
            return;
          }
          metadata.info.links = links;
          compilation.updateAsset(PLUGIN_JSON, new webpack.sources.RawSource(`${JSON.stringify(metadata, null, 2)}\n`));
        }
      );
    });
  }
}
