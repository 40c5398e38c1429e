import { readFileSync } from 'node:fs';
import os from 'node:os';
import { PINNING } from './pinning.ts';

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly os: string;
  readonly pinned: boolean;
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) {
      return line.slice(line.indexOf(':') + 1).trim();
    }
  } catch {
    // not Linux: fall back to what libuv reports
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export function describeMachine(): Machine {
  return {
    // Online CPUs of the machine, like nproc before any pinning.
    cpus: os.cpus().length,
    cpuModel: cpuModel(),
    memoryGiB: os.totalmem() / 1024 ** 3,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    pinned: PINNING,
  };
}
