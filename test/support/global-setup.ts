import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findChromium } from './chromium.ts';
import { installedVersion, SHARED_MODULE_SETS } from './shared-module-sets.ts';

/** Fails the run, with the reason, when a tool or build the tests rely on is missing: never skips. */
export default function setup(): void {
  for (const tool of ['prometheus', 'promtool']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is not installed: run scripts/install-test-tools.sh (Debian package prometheus)`);
    }
  }
  if (!findChromium()) throw new Error('chromium is not installed: run scripts/install-test-tools.sh (Debian package chromium)');
  // The browser harness's shared-module sets; throws naming the set when one is not installed.
  for (const set of SHARED_MODULE_SETS) installedVersion(set, '@grafana/runtime');
  const main = fileURLToPath(new URL('../../packages/collector/dist/main.js', import.meta.url));
  if (!existsSync(main)) throw new Error('the collector is not built: run `npm run build` first (npm test does)');
}
