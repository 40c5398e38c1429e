import { execFileSync } from 'node:child_process';

/**
 * CPU pinning with taskset: the server under test gets CPU 0 to itself and everything else (load
 * generator, orchestrator) shares CPU 1. On a 2-core machine that is the only split in which the
 * load generator cannot slow the server down by competing for its core.
 */

export const SERVER_CPU = 0;
export const CLIENT_CPU = 1;

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const PINNING = hasTaskset();

/** The command and arguments that run `node ...args` on one CPU (or unpinned without taskset). */
export function pinnedNode(cpu: number, args: readonly string[]): { command: string; args: string[] } {
  if (!PINNING) {
    return { command: process.execPath, args: [...args] };
  }
  return { command: 'taskset', args: ['-c', String(cpu), process.execPath, ...args] };
}

/** Moves every thread of this process to one CPU, so the orchestrator's own work stays off the server's. */
export function pinSelf(cpu: number): void {
  if (PINNING) {
    execFileSync('taskset', ['-a', '-cp', String(cpu), String(process.pid)], { stdio: 'ignore' });
  }
}
