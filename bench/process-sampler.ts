import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * RSS and CPU of another process, read from /proc (Linux only: the benchmark machines). Used on the
 * collector as users run it, a separate `node dist/main.js`, which cannot be asked over IPC.
 */

export interface ProcessSample {
  /** Label of what the load was doing when the sample was taken. */
  readonly phase: string;
  readonly atMs: number;
  readonly rssBytes: number;
  /** user + system CPU time so far, in seconds. */
  readonly cpuSeconds: number;
  /** Busy time so far of the CPU the process is pinned to, by anyone: with `cpuSeconds`, what others took from it. */
  readonly hostCpuBusySeconds: number;
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function statusField(pid: number, field: string): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  if (!line) {
    throw new Error(`no ${field} in /proc/${pid}/status`);
  }
  return (
    Number(
      line
        .slice(field.length + 1)
        .trim()
        .split(/\s+/)[0]
    ) * 1024
  );
}

/** Resident set size now. */
export const rssBytes = (pid: number): number => statusField(pid, 'VmRSS');
/** The process's highest resident set size so far (the kernel's high-water mark). */
export const peakRssBytes = (pid: number): number => statusField(pid, 'VmHWM');

export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at ") "; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Busy (non-idle) time so far of one CPU, or of all of them together without `cpu`, in seconds. */
export function hostCpuBusySeconds(cpu?: number): number {
  const name = cpu === undefined ? 'cpu' : `cpu${cpu}`;
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name} `));
  if (!line) {
    throw new Error(`no ${name} in /proc/stat`);
  }
  // user nice system idle iowait irq softirq steal: idle and iowait are the idle time.
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return (total - ticks[3]! - ticks[4]!) / CLOCK_TICKS;
}

export interface ProcessSampler {
  setPhase(phase: string): void;
  stop(): ProcessSample[];
}

/** Samples the process every `everyMs`, and the CPU it runs on (`cpu`) to see who else used it. */
export function sampleProcess(pid: number, cpu: number, everyMs: number): ProcessSampler {
  const samples: ProcessSample[] = [];
  const started = performance.now();
  let phase = 'start';
  const take = (): void => {
    try {
      samples.push({
        phase,
        atMs: performance.now() - started,
        rssBytes: rssBytes(pid),
        cpuSeconds: cpuSeconds(pid),
        hostCpuBusySeconds: hostCpuBusySeconds(cpu),
      });
    } catch {
      // the process is gone: the caller finds out from its exit
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    setPhase(next) {
      take();
      phase = next;
      take();
    },
    stop() {
      take();
      clearInterval(timer);
      return samples;
    },
  };
}

/** CPU used during a phase, as a share of one core (from its first to its last sample). */
export function phaseCpu(samples: readonly ProcessSample[], phase: string): { process: number; others: number } {
  const inPhase = samples.filter((s) => s.phase === phase);
  if (inPhase.length < 2) {
    return { process: NaN, others: NaN };
  }
  const first = inPhase[0]!;
  const last = inPhase[inPhase.length - 1]!;
  const seconds = (last.atMs - first.atMs) / 1000;
  const own = last.cpuSeconds - first.cpuSeconds;
  return {
    process: own / seconds,
    others: Math.max(0, last.hostCpuBusySeconds - first.hostCpuBusySeconds - own) / seconds,
  };
}
