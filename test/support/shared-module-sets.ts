/**
 * The sets of modules Grafana shares with plugins that the browser harness runs plugins on: Grafana
 * 13.2 on React 19 (the repository's own dependencies), Grafana 12.4 and Grafana 11.6 on React 18
 * (each its own npm project, test/browser/grafana-12 and test/browser/grafana-11, installed by
 * scripts/install-test-tools.sh). Grafana 13.1 and older run React 18, 13.2 and newer React 19; the
 * plugins must work on both. 11.6 is the oldest Grafana the app plugin supports (preload through
 * app.ts). 12.4.6 because only 12.4.6 and 12.4.8 of the 12.4 line install from the npm registry alone
 * (the others fetch @grafana/ui's react-data-grid from GitHub), 13.2.2 because @grafana/runtime
 * 13.2.3 depends on an @grafana/e2e-selectors release that was never published, and 11.6.16, the
 * newest 11.6 patch, installs from the registry as it is.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export type SharedModuleSetName = 'grafana-13' | 'grafana-12' | 'grafana-11';

export interface SharedModuleSet {
  readonly name: SharedModuleSetName;
  /** The folder whose node_modules holds the set. */
  readonly root: string;
  /** The React major the set must have; the installed version is checked against it. */
  readonly reactMajor: number;
}

export const SHARED_MODULE_SETS: readonly SharedModuleSet[] = [
  { name: 'grafana-13', root: REPO_ROOT, reactMajor: 19 },
  { name: 'grafana-12', root: join(REPO_ROOT, 'test/browser/grafana-12'), reactMajor: 18 },
  { name: 'grafana-11', root: join(REPO_ROOT, 'test/browser/grafana-11'), reactMajor: 18 },
];

export function sharedModuleSet(name: SharedModuleSetName): SharedModuleSet {
  return SHARED_MODULE_SETS.find((set) => set.name === name)!;
}

/** The installed version of one of the set's packages. */
export function installedVersion(set: SharedModuleSet, pkg: string): string {
  const manifest = join(set.root, 'node_modules', pkg, 'package.json');
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  } catch {
    throw new Error(`${pkg} is not installed for ${set.name}: run scripts/install-test-tools.sh`);
  }
}
