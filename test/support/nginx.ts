/**
 * Debian's nginx run for one test, unprivileged: its own prefix directory under the system's temp dir
 * holding the configuration, pid file, logs and temp paths, in the foreground (`daemon off`), on a free
 * loopback port. When the tests run as root (CI containers), nginx runs as `nobody`, so no test ever
 * relies on root privileges that users' nginx would not have either.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  chownSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './prometheus.ts';
import { terminate } from './terminate.ts';

/** Where Debian puts the binary; /usr/sbin is often not on a non-root PATH. */
const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/** The nginx binary: on PATH or in an sbin directory; undefined when nginx is not installed. */
export function findNginx(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SBIN_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, 'nginx');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Debian's nobody:nogroup. */
const NOBODY = 65534;

export interface NginxOptions {
  /** The inside of the `http { }` block; `port` is the loopback port to listen on. */
  http(port: number): string;
  /** Files to put in the prefix directory beside nginx.conf (e.g. a rendered recipe), by file name. */
  readonly files?: Readonly<Record<string, string>>;
}

export interface NginxServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** The prefix directory: nginx.conf, the files given, logs. */
  readonly dir: string;
  /** The error log so far (level warn and above). */
  errorLog(): string;
  /** Stops nginx and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Writes nginx.conf around `options.http`, has `nginx -t` check it (its complaint is the error), starts
 * nginx and resolves once its port accepts connections.
 */
export async function startNginx(options: NginxOptions): Promise<NginxServer> {
  const binary = findNginx();
  if (binary === undefined) {
    throw new Error('nginx is not installed: run scripts/install-test-tools.sh (Debian package nginx)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'footfall-nginx-'));
  const port = await freePort();
  // Relative paths resolve against the prefix (-p). Every path nginx writes is set here: Debian's
  // compiled-in ones (/var/lib/nginx, /var/log/nginx, /run/nginx.pid) are root's.
  const conf = [
    'daemon off;',
    'worker_processes 1;',
    'pid nginx.pid;',
    'error_log error.log warn;',
    'events { worker_connections 128; }',
    'http {',
    '    access_log access.log;',
    '    client_body_temp_path client_body_temp;',
    '    proxy_temp_path proxy_temp;',
    '    fastcgi_temp_path fastcgi_temp;',
    '    uwsgi_temp_path uwsgi_temp;',
    '    scgi_temp_path scgi_temp;',
    options.http(port),
    '}',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'nginx.conf'), conf);
  for (const [name, text] of Object.entries(options.files ?? {})) {
    writeFileSync(join(dir, name), text);
  }
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    for (const path of [dir, ...readdirSync(dir).map((f) => join(dir, f))]) {
      chownSync(path, NOBODY, NOBODY);
    }
  }
  const identity = asRoot ? { uid: NOBODY, gid: NOBODY } : {};
  // -e: the error log before the configuration is read, else nginx tries /var/log/nginx/error.log first.
  const args = ['-p', `${dir}/`, '-c', 'nginx.conf', '-e', 'error.log'];

  const check = spawnSync(binary, [...args, '-t', '-q'], { encoding: 'utf8', timeout: 10_000, ...identity });
  if (check.status !== 0) {
    const output = `${check.stdout}${check.stderr}${readLog(dir)}`.trim();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`nginx -t refused the configuration:\n${output}\n--- nginx.conf ---\n${conf}`);
  }

  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], ...identity });
  const output: string[] = [];
  const collect = (chunk: Buffer): void => void output.push(chunk.toString('utf8'));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async (): Promise<void> => {
    // SIGTERM is nginx's fast shutdown (SIGQUIT would wait for keep-alive connections).
    await terminate(child, exited);
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const why = child.exitCode !== null ? `exited with ${child.exitCode}` : 'did not listen in 10 s';
      const log = `${output.join('')}${readLog(dir)}`;
      await stop();
      throw new Error(`nginx ${why}:\n${log}`);
    }
    await sleep(50);
  }
  return { url: `http://127.0.0.1:${port}`, port, dir, errorLog: () => readLog(dir), stop };
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'error.log'), 'utf8');
  } catch {
    return '';
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
