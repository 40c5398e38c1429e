import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));

export interface Revision {
  readonly commit: string;
  /** Uncommitted changes under packages/collector: the numbers then belong to no commit exactly. */
  readonly collectorDirty: boolean;
}

function git(args: readonly string[]): string {
  return execFileSync('git', args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

/** Which collector code the numbers belong to, so a later reader can tell old results from new ones. */
export function currentRevision(): Revision | undefined {
  try {
    return {
      commit: git(['rev-parse', '--short=12', 'HEAD']),
      collectorDirty: git(['status', '--porcelain', '--', 'packages/collector']) !== '',
    };
  } catch {
    return undefined; // not a git checkout (e.g. an unpacked tarball)
  }
}
