/**
 * Grafana's origin as the browser sees it, for the harness: every frontend route under the
 * `/grafana` sub-path serves the host page (so `locationService` sees `/d/<uid>/<slug>`), with
 * Grafana's session cookies; the plugin is served where Grafana serves plugins; and
 * `/grafana/footfall/` is proxied to the collector the way the README's nginx rule does it. Every
 * request to `/grafana/footfall/` is recorded with what it was answered, for assertions on the wire.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { APP_SUB_URL, defaultBootData } from './boot-data.ts';
import { hostBundle } from './host-bundle.ts';
import { BUILD_PATH, hostPageHtml } from './host-page.ts';
import { REPO_ROOT, type SharedModuleSet } from './shared-module-sets.ts';

export const PLUGIN_ID = 'footfall-usage-panel';
/** Where Grafana serves the plugin's `dist/` folder, and so where the panel's module is imported from. */
export const PLUGIN_PATH = `${APP_SUB_URL}/public/plugins/${PLUGIN_ID}`;
export const COLLECTOR_PREFIX = `${APP_SUB_URL}/footfall`;

export interface HarnessServerOptions {
  readonly set: SharedModuleSet;
  /** The folder served as the plugin's: `packages/panel/dist` or a fixture folder with a `module.js`. */
  readonly pluginDir: string;
  /** The collector's origin, e.g. `http://127.0.0.1:4318`; `setUpstream` can change it later. */
  readonly upstream?: string;
}

/** `up` proxies; `down` answers 502 as nginx does when the upstream refuses; `unavailable` answers 503. */
export type UpstreamMode = 'up' | 'down' | 'unavailable';

export interface CollectorRequest {
  /** `Date.now()` when the request arrived. */
  readonly at: number;
  readonly method: string;
  /** As the browser sent it, e.g. `/grafana/footfall/v1/metrics`. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The status the browser was answered. */
  readonly status: number;
}

export interface HarnessServer {
  /** The origin, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The value of the `grafana_session` cookie the pages set. */
  readonly sessionToken: string;
  readonly requests: readonly CollectorRequest[];
  /** A page URL from a sub-path-free Grafana path: `pageUrl('/d/abc/slug')` → `<url>/grafana/d/abc/slug`. */
  pageUrl(path: string): string;
  setUpstream(url: string | undefined): void;
  /** `retryAfterSeconds` is the `Retry-After` of `unavailable` answers. */
  setMode(mode: UpstreamMode, retryAfterSeconds?: number): void;
  /** Resolves once `count` requests reached `/grafana/footfall/` in total, with all of them. */
  waitForRequests(count: number, timeoutMs?: number): Promise<readonly CollectorRequest[]>;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.md': 'text/markdown; charset=utf-8',
};

// Headers that describe one connection, not the request: a proxy does not pass them on (RFC 9110 7.6.1).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** nginx's own error page, as a browser behind the README's proxy gets it. */
function nginxError(status: 502 | 503): string {
  const title = status === 502 ? '502 Bad Gateway' : '503 Service Temporarily Unavailable';
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && name !== 'host') out[name] = value;
  }
  return out;
}

export async function startHarnessServer(options: HarnessServerOptions): Promise<HarnessServer> {
  const bundle = await hostBundle(options.set);
  const files: Record<string, string> = {
    [`${BUILD_PATH}/system.js`]: join(REPO_ROOT, 'node_modules/systemjs/dist/system.js'),
    [`${BUILD_PATH}/amd.js`]: join(REPO_ROOT, 'node_modules/systemjs/dist/extras/amd.js'),
    [`${BUILD_PATH}/host.js`]: bundle,
  };
  const pluginDir = normalize(options.pluginDir + sep);
  const sessionToken = randomBytes(16).toString('hex');
  const requests: CollectorRequest[] = [];
  const waiters = new Set<() => void>();
  let upstream = options.upstream;
  let mode: UpstreamMode = 'up';
  let retryAfterSeconds = 60;
  let origin = '';

  const record = (req: IncomingMessage, body: Buffer, status: number): void => {
    requests.push({ at: Date.now(), method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, status });
    for (const wake of waiters) wake();
  };

  const sendFile = async (res: ServerResponse, file: string): Promise<void> => {
    const content = await readFile(file).catch(() => undefined);
    if (!content) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(content);
  };

  const sendPage = (req: IncomingMessage, res: ServerResponse): void => {
    const headers: Record<string, string | string[]> = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' };
    // Grafana sets these at login; a page load is the harness's login. `Path` is the sub-path.
    if (!(req.headers.cookie ?? '').includes(`grafana_session=${sessionToken}`)) {
      const expiry = Math.floor(Date.now() / 1000) + 600;
      headers['set-cookie'] = [
        `grafana_session=${sessionToken}; Path=${APP_SUB_URL}; Max-Age=2592000; HttpOnly; SameSite=Lax`,
        `grafana_session_expiry=${expiry}; Path=${APP_SUB_URL}; Max-Age=2592000; SameSite=Lax`,
      ];
    }
    res.writeHead(200, headers).end(hostPageHtml(defaultBootData(options.set, origin)));
  };

  const proxy = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const answer = (status: 502 | 503): void => {
      res.writeHead(status, {
        'content-type': 'text/html',
        ...(status === 503 ? { 'retry-after': String(retryAfterSeconds) } : {}),
      });
      res.end(nginxError(status));
      record(req, body, status);
    };
    if (mode === 'unavailable') return answer(503);
    if (mode === 'down' || upstream === undefined) return answer(502);

    // nginx `proxy_pass http://collector/;` replaces the matched location prefix with `/`, sets
    // Host to the upstream's and sends the body it buffered with its length; the README's rule adds
    // X-Forwarded-Host with the browser's host, X-Forwarded-Proto with its scheme ($scheme: http here)
    // and X-Forwarded-For with its address appended ($proxy_add_x_forwarded_for).
    const target = new URL((req.url ?? '').slice(COLLECTOR_PREFIX.length), upstream);
    const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter((v) => v !== undefined).join(', ');
    const headers = {
      ...forwardable(req.headers),
      'content-length': String(body.length),
      ...(req.headers.host ? { 'x-forwarded-host': req.headers.host } : {}),
      'x-forwarded-proto': 'http',
      'x-forwarded-for': forwardedFor,
    };
    const upstreamReq = request(target, { method: req.method, headers, agent: false }, (upstreamRes) => {
      const status = upstreamRes.statusCode ?? 502;
      res.writeHead(status, forwardable(upstreamRes.headers));
      upstreamRes.pipe(res);
      upstreamRes.on('end', () => record(req, body, status));
    });
    upstreamReq.on('error', () => (res.headersSent ? res.destroy() : answer(502)));
    upstreamReq.end(body);
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://harness').pathname;
    if (path.startsWith(`${COLLECTOR_PREFIX}/`)) return proxy(req, res);
    if (req.method !== 'GET') return void res.writeHead(405).end();
    const file = files[path];
    if (file) return sendFile(res, file);
    if (path.startsWith(`${PLUGIN_PATH}/`)) {
      const inPlugin = normalize(join(pluginDir, decodeURIComponent(path.slice(PLUGIN_PATH.length + 1))));
      return inPlugin.startsWith(pluginDir) ? sendFile(res, inPlugin) : void res.writeHead(404).end();
    }
    if (path.startsWith(`${APP_SUB_URL}/api/`) || path.startsWith(`${APP_SUB_URL}/public/`)) {
      return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not found"}');
    }
    // Grafana answers every other route under its sub-path with the app page; the frontend router
    // decides what it shows (/d/, /d-solo/, /dashboard/snapshot/, /public-dashboards/, …).
    if (path === APP_SUB_URL || path.startsWith(`${APP_SUB_URL}/`)) return sendPage(req, res);
    res.writeHead(404).end();
  };

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: origin,
    sessionToken,
    requests,
    pageUrl: (path) => `${origin}${APP_SUB_URL}${path}`,
    setUpstream(url) {
      upstream = url;
    },
    setMode(next, seconds = 60) {
      mode = next;
      retryAfterSeconds = seconds;
    },
    waitForRequests(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (requests.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve([...requests]);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${requests.length} of ${count} requests reached ${COLLECTOR_PREFIX}/ in ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
