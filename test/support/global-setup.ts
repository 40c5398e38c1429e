import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Fails the run, with the reason, when a tool or build the tests rely on is missing: never skips. */
export default function setup(): void {
  for (const tool of ['prometheus', 'promtool']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is not installed: run scripts/install-test-tools.sh (Debian package prometheus)`);
    }
  }
  const main = fileURLToPath(new URL('../../packages/collector/dist/main.js', import.meta.url));
  if (!existsSync(main)) throw new Error('the collector is not built: run `npm run build` first (npm test does)');
}
