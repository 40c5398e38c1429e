import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findChromium } from './chromium.ts';
import { findNginx } from './nginx.ts';
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
  if (!findChromium()) {
    throw new Error('chromium is not installed: run scripts/install-test-tools.sh (Debian package chromium)');
  }
  const nginx = findNginx();
  if (!nginx) {
    throw new Error('nginx is not installed: run scripts/install-test-tools.sh (Debian package nginx)');
  }
  // `nginx -V` prints its build options on stderr; the recipe needs auth_request, which Debian builds in.
  const build = spawnSync(nginx, ['-V'], { encoding: 'utf8' });
  if (!`${build.stderr}`.includes('--with-http_auth_request_module')) {
    throw new Error(
      `${nginx} lacks the auth_request module deploy/nginx/footfall.conf needs: install Debian's nginx package`
    );
  }
  // The browser harness's shared-module sets; throws naming the set when one is not installed.
  for (const set of SHARED_MODULE_SETS) {
    installedVersion(set, '@grafana/runtime');
  }
  const main = fileURLToPath(new URL('../../packages/collector/dist/main.js', import.meta.url));
  if (!existsSync(main)) {
    throw new Error('the collector is not built: run `npm run build` first (npm test does)');
  }
}
