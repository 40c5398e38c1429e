import type { ChildProcess } from 'node:child_process';

/**
 * Stops a tool the tests started: SIGTERM (its clean shutdown), then SIGKILL if it is still there after
 * 5 s, so a hung tool never outlives the test run. Resolves once it exited.
 */
export async function terminate(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
