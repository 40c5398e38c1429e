/**
 * The two sets of modules Grafana shares with plugins that the browser harness runs the panel on:
 * Grafana 13.2 on React 19 (the repository's own dependencies) and Grafana 12.4 on React 18 (its own
 * npm project under test/browser/grafana-12, installed by scripts/install-test-tools.sh). Grafana
 * 13.1 and older run React 18, 13.2 and newer React 19; the panel must work on both. 12.4.6 because
 * only 12.4.6 and 12.4.8 of the 12.4 line install from the npm registry alone (the others fetch
 * @grafana/ui's react-data-grid from GitHub), and 13.2.2 because @grafana/runtime 13.2.3 depends on
 * an @grafana/e2e-selectors release that was never published.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export type SharedModuleSetName = 'grafana-13' | 'grafana-12';

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
