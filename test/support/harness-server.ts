/**
 * Grafana's origin as the browser sees it, for the harness: every frontend route under the
 * `/grafana` sub-path serves the host page (so `locationService` sees `/d/<uid>/<slug>`), with
 * Grafana's session cookies; each plugin folder (the panel, app plugins) is served where Grafana
 * serves plugins, every file in it; app plugins get their boot data entry and their
 * `/api/plugins/<id>/settings`; and `/grafana/footfall/` is proxied to the collector the way the
 * README's nginx rule does it. Every request to `/grafana/footfall/` is recorded with what it was
 * answered, for assertions on the wire, and so is every API and plugin file request. Any path can be
 * held back until the test releases it, to stage a slow network.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { serveApp, type AppPluginOptions, type AppPluginSettingsPatch, type ServedApp } from './app-plugins.ts';
import { APP_SUB_URL, defaultBootData } from './boot-data.ts';
import { hostBundle } from './host-bundle.ts';
import { BUILD_PATH, hostPageHtml } from './host-page.ts';
import { REPO_ROOT, type SharedModuleSet } from './shared-module-sets.ts';

export const PLUGIN_ID = 'footfall-usage-panel';
/** Where Grafana serves a plugin's `dist/` folder: `/grafana/public/plugins/<id>`. */
export const pluginPath = (id: string): string => `${APP_SUB_URL}/public/plugins/${id}`;
/** Where the panel's module is imported from. */
export const PLUGIN_PATH = pluginPath(PLUGIN_ID);
export const COLLECTOR_PREFIX = `${APP_SUB_URL}/footfall`;

export interface HarnessServerOptions {
  readonly set: SharedModuleSet;
  /** The folder served as the panel's: `packages/panel/dist` or a fixture folder with a `module.js`. */
  readonly pluginDir?: string;
  /** App plugins, each served under its plugin.json id, in boot data and at the settings endpoint. */
  readonly apps?: readonly AppPluginOptions[];
  /** The saved dashboards `GET /api/search` finds (Grafana's search answers the signed-in user with these). */
  readonly dashboards?: readonly SavedDashboard[];
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

/** A request to Grafana's API or to a plugin folder, e.g. `GET /grafana/public/plugins/x/module.js?_cache=1.0.0 200`. */
export interface GrafanaRequest {
  /** `Date.now()` when it was answered. */
  readonly at: number;
  readonly method: string;
  /** As the browser sent it, query string included. */
  readonly url: string;
  readonly status: number;
}

/** A path held back: its requests wait, unanswered, until `release()`. */
export interface HeldPath {
  /** Resolves when the first request for the path arrives. */
  readonly arrived: Promise<void>;
  /** Answers the waiting requests and every later one as usual. */
  release(): void;
}

/** A saved dashboard as Grafana's search knows it; no folder: the General folder. */
export interface SavedDashboard {
  readonly uid: string;
  readonly title: string;
  readonly folderTitle?: string;
}

export interface HarnessServer {
  /** The origin, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The value of the `grafana_session` cookie the pages set. */
  readonly sessionToken: string;
  readonly requests: readonly CollectorRequest[];
  /** Every request to `/grafana/api/` and `/grafana/public/plugins/` so far, in the order answered. */
  readonly grafanaRequests: readonly GrafanaRequest[];
  /** A page URL from a sub-path-free Grafana path: `pageUrl('/d/abc/slug')` → `<url>/grafana/d/abc/slug`. */
  pageUrl(path: string): string;
  setUpstream(url: string | undefined): void;
  /** `retryAfterSeconds` is the `Retry-After` of `unavailable` answers. */
  setMode(mode: UpstreamMode, retryAfterSeconds?: number): void;
  /** Resolves once `count` requests reached `/grafana/footfall/` in total, with all of them. */
  waitForRequests(count: number, timeoutMs?: number): Promise<readonly CollectorRequest[]>;
  /** Changes an app's org setting or the user's access to it; the next settings request and page load see it. */
  updateApp(id: string, patch: AppPluginSettingsPatch): void;
  /**
   * Holds back requests for `path` (with the sub-path, no query string, e.g.
   * `pluginPath('footfall-app') + '/module.js'`) until released.
   */
  hold(path: string): HeldPath;
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
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

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
    if (value !== undefined && !HOP_BY_HOP.has(name) && name !== 'host') {
      out[name] = value;
    }
  }
  return out;
}

export async function startHarnessServer(options: HarnessServerOptions): Promise<HarnessServer> {
  const apps = new Map<string, ServedApp>();
  for (const app of (options.apps ?? []).map(serveApp)) {
    if (apps.has(app.id) || app.id === PLUGIN_ID) {
      throw new Error(`two plugin folders with the id ${app.id}`);
    }
    apps.set(app.id, app);
  }
  /** Plugin id → the folder served for it, with a trailing separator. */
  const pluginDirs = new Map<string, string>([...apps.values()].map((app) => [app.id, normalize(app.dir + sep)]));
  if (options.pluginDir !== undefined) {
    pluginDirs.set(PLUGIN_ID, normalize(options.pluginDir + sep));
  }

  const bundle = await hostBundle(options.set);
  const files: Record<string, string> = {
    [`${BUILD_PATH}/system.js`]: join(REPO_ROOT, 'node_modules/systemjs/dist/system.js'),
    [`${BUILD_PATH}/amd.js`]: join(REPO_ROOT, 'node_modules/systemjs/dist/extras/amd.js'),
    [`${BUILD_PATH}/host.js`]: bundle,
  };
  const sessionToken = randomBytes(16).toString('hex');
  const requests: CollectorRequest[] = [];
  const grafanaRequests: GrafanaRequest[] = [];
  const holds = new Map<string, { arrived: () => void; released: Promise<void>; release: () => void }>();
  const waiters = new Set<() => void>();
  let upstream = options.upstream;
  let mode: UpstreamMode = 'up';
  let retryAfterSeconds = 60;
  let origin = '';

  const record = (req: IncomingMessage, body: Buffer, status: number): void => {
    requests.push({
      at: Date.now(),
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body,
      status,
    });
    for (const wake of waiters) {
      wake();
    }
  };

  const sendFile = async (res: ServerResponse, file: string): Promise<void> => {
    const content = await readFile(file).catch(() => undefined);
    if (!content) {
      return void res.writeHead(404).end();
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    });
    res.end(content);
  };

  const sendJson = (res: ServerResponse, status: number, body: unknown): void => {
    res
      .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(JSON.stringify(body));
  };

  const signedIn = (req: IncomingMessage): boolean =>
    (req.headers.cookie ?? '').includes(`grafana_session=${sessionToken}`);

  /** `/api/plugins/<id>/settings`, as Grafana answers it to the signed-in user. */
  const sendPluginSettings = (req: IncomingMessage, res: ServerResponse, id: string): void => {
    if (!signedIn(req)) {
      return sendJson(res, 401, { message: 'Unauthorized' });
    }
    const app = apps.get(id);
    if (app) {
      const { status, body } = app.settings();
      return sendJson(res, status, body);
    }
    sendJson(res, 404, { message: 'Plugin not found, no installed plugin with that id' });
  };

  /**
   * `/api/search` as Grafana answers it (pkg/api/search.go, the legacy search's hit list): dashboards
   * only with `type=dash-db`, filtered by `dashboardUIDs`, folder fields only for dashboards in a folder.
   */
  const sendSearch = (req: IncomingMessage, res: ServerResponse): void => {
    if (!signedIn(req)) {
      return sendJson(res, 401, { message: 'Unauthorized' });
    }
    const query = new URL(req.url ?? '/', 'http://harness').searchParams;
    const uids = new Set(query.getAll('dashboardUIDs'));
    const limit = Number(query.get('limit') ?? 1000) || 1000;
    const hits = (options.dashboards ?? [])
      .filter((d) => uids.size === 0 || uids.has(d.uid))
      .slice(0, limit)
      .map((d, i) => {
        const slug = d.title
          .toLowerCase()
          .replace(/[^\w ]+/g, '')
          .replace(/ +/g, '-');
        return {
          id: i + 1,
          uid: d.uid,
          orgId: 1,
          title: d.title,
          uri: `db/${slug}`,
          url: `${APP_SUB_URL}/d/${d.uid}/${slug}`,
          slug: '',
          type: 'dash-db',
          tags: [],
          isStarred: false,
          sortMeta: 0,
          ...(d.folderTitle
            ? {
                folderId: 100,
                folderUid: `folder-${d.folderTitle}`,
                folderTitle: d.folderTitle,
                folderUrl: `${APP_SUB_URL}/dashboards/f/folder`,
              }
            : {}),
        };
      });
    sendJson(res, 200, query.get('type') === 'dash-folder' ? [] : hits);
  };

  const sendPage = (req: IncomingMessage, res: ServerResponse): void => {
    const headers: Record<string, string | string[]> = {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
    };
    // Grafana sets these at login; a page load is the harness's login. `Path` is the sub-path.
    if (!signedIn(req)) {
      const expiry = Math.floor(Date.now() / 1000) + 600;
      headers['set-cookie'] = [
        `grafana_session=${sessionToken}; Path=${APP_SUB_URL}; Max-Age=2592000; HttpOnly; SameSite=Lax`,
        `grafana_session_expiry=${expiry}; Path=${APP_SUB_URL}; Max-Age=2592000; SameSite=Lax`,
      ];
    }
    const appEntries = Object.fromEntries([...apps.values()].map((app) => [app.id, app.bootEntry()]));
    res.writeHead(200, headers).end(hostPageHtml(defaultBootData(options.set, origin, appEntries)));
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
    if (mode === 'unavailable') {
      return answer(503);
    }
    if (mode === 'down' || upstream === undefined) {
      return answer(502);
    }

    // nginx `proxy_pass http://collector/;` replaces the matched location prefix with `/`, sets
    // Host to the upstream's and sends the body it buffered with its length; the README's rule adds
    // X-Forwarded-Host with the browser's host, X-Forwarded-Proto with its scheme ($scheme: http here)
    // and X-Forwarded-For with its address appended ($proxy_add_x_forwarded_for).
    const target = new URL((req.url ?? '').slice(COLLECTOR_PREFIX.length), upstream);
    const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress]
      .filter((v) => v !== undefined)
      .join(', ');
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

  const PLUGIN_FILE = new RegExp(`^${APP_SUB_URL}/public/plugins/([^/]+)/(.+)$`);
  const PLUGIN_SETTINGS = new RegExp(`^${APP_SUB_URL}/api/plugins/([^/]+)/settings$`);

  const route = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const hold = holds.get(path);
    if (hold) {
      hold.arrived();
      await hold.released;
    }
    if (path.startsWith(`${COLLECTOR_PREFIX}/`)) {
      return proxy(req, res);
    }
    if (req.method !== 'GET') {
      return void res.writeHead(405).end();
    }
    const file = files[path];
    if (file) {
      return sendFile(res, file);
    }
    const pluginFile = PLUGIN_FILE.exec(path);
    const dir = pluginFile && pluginDirs.get(decodeURIComponent(pluginFile[1]!));
    if (pluginFile && dir) {
      const inPlugin = normalize(join(dir, decodeURIComponent(pluginFile[2]!)));
      return inPlugin.startsWith(dir) ? sendFile(res, inPlugin) : void res.writeHead(404).end();
    }
    const settings = PLUGIN_SETTINGS.exec(path);
    if (settings) {
      return sendPluginSettings(req, res, decodeURIComponent(settings[1]!));
    }
    if (path === `${APP_SUB_URL}/api/search`) {
      return sendSearch(req, res);
    }
    if (path.startsWith(`${APP_SUB_URL}/api/`) || path.startsWith(`${APP_SUB_URL}/public/`)) {
      return sendJson(res, 404, { message: 'Not found' });
    }
    // Grafana answers every other route under its sub-path with the app page; the frontend router
    // decides what it shows (/d/, /d-solo/, /dashboard/snapshot/, /public-dashboards/, …).
    if (path === APP_SUB_URL || path.startsWith(`${APP_SUB_URL}/`)) {
      return sendPage(req, res);
    }
    res.writeHead(404).end();
  };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://harness').pathname;
    if (path.startsWith(`${APP_SUB_URL}/api/`) || path.startsWith(`${APP_SUB_URL}/public/plugins/`)) {
      res.on('finish', () =>
        grafanaRequests.push({ at: Date.now(), method: req.method ?? '', url: req.url ?? '', status: res.statusCode })
      );
    }
    route(req, res, path).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500);
      }
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
    grafanaRequests,
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
          if (requests.length < count) {
            return;
          }
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
    updateApp(id, patch) {
      const app = apps.get(id);
      if (!app) {
        throw new Error(`no app plugin ${id} is served`);
      }
      app.update(patch);
    },
    hold(path) {
      if (holds.has(path)) {
        throw new Error(`${path} is already held`);
      }
      let arrived!: () => void;
      let release!: () => void;
      const held = {
        arrived: new Promise<void>((resolve) => (arrived = resolve)),
        released: new Promise<void>((resolve) => (release = resolve)),
      };
      holds.set(path, { arrived, released: held.released, release });
      return {
        arrived: held.arrived,
        release() {
          holds.delete(path);
          release();
        },
      };
    },
    async close() {
      for (const hold of holds.values()) {
        hold.release();
      }
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
