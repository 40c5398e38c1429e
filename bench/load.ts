import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadMessage, LoadResult, LoadSpec } from './load-protocol.ts';
import { CLIENT_CPU, pinnedNode } from './pinning.ts';

const LOAD_MAIN = fileURLToPath(new URL('./load-main.ts', import.meta.url));
/** Slack over warm-up + measurement for process start-up and body building; past it the run is killed. */
const GRACE_SECONDS = 20;

/**
 * Runs one load generator child on the client CPU and returns what it measured. `onMeasuring` fires
 * when the warm-up is over, so the caller can sample the server over exactly the measured window.
 */
export function runLoad(spec: LoadSpec, onMeasuring: () => void = () => {}): Promise<LoadResult> {
  const { command, args } = pinnedNode(CLIENT_CPU, [LOAD_MAIN, JSON.stringify(spec)]);
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise<LoadResult>((resolve, reject) => {
    let result: LoadResult | undefined;
    const timer = setTimeout(
      () => child.kill('SIGKILL'),
      (spec.warmupSeconds + spec.durationSeconds + GRACE_SECONDS) * 1000
    );
    child.on('message', (message: LoadMessage) => {
      if (message.type === 'measuring') {
        onMeasuring();
      } else {
        result = message.result;
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result) {
        resolve(result);
      } else {
        reject(new Error(`load generator exited (${code ?? signal}) without a result`));
      }
    });
  });
}
