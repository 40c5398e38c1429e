/**
 * A stand-in for the Grafana HTTP API endpoints a service account calls, for tests only (Grafana has
 * no binary in the registries these machines reach): the dashboard search the collector's inventory
 * pages through, and the dashboard read and save the rollout CLI uses. Status codes and bodies follow
 * Grafana's (docs: Folder/Dashboard Search API, Dashboard API; pkg/services/dashboards/errors.go):
 *
 * - `GET /api/search?type=dash-db&limit=&page=`: hits sorted by title, `limit` 1000 by default and at
 *   most 5000, `page` from 1; dashboards in the General folder carry no folder fields.
 * - `GET /api/dashboards/uid/<uid>`: `{dashboard, meta}`; 404 `Dashboard not found`.
 * - `POST /api/dashboards/db`: 200 `{id, uid, url, status: 'success', version, slug}`; 400 `Cannot save
 *   provisioned dashboard`; 412 `version-mismatch` when `overwrite` is false and the version is stale.
 * - Schema v2 dashboards (stored as `dashboard.grafana.app/v2…` resources): the classic read answers
 *   406 `dashboard api version not supported, use /apis/… instead` (pkg/api/dashboard.go); the resource
 *   is read with `GET /apis/dashboard.grafana.app/<version>/namespaces/default/dashboards/<uid>` and
 *   saved with `PUT` there, which answers 409 Conflict when `metadata.resourceVersion` is stale. A
 *   provisioned one carries `grafana.app/managedBy: classic-file-provisioning`.
 * - 401 `auth.unauthorized` without a token, or with one the stand-in does not know; each token
 *   belongs to one org and sees that org's dashboards only, as a service account's does.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback-server.ts';

export interface StoredDashboard {
  /** The dashboard JSON as Grafana stores it (classic or a v2 resource); its uid and title are read from it. */
  model: Record<string, unknown>;
  readonly orgId: number;
  /** Changed by a save naming another folder, as Grafana moves the dashboard. */
  folderUid?: string;
  readonly folderTitle?: string;
  /** Provisioned from a file: saving through the API is refused. */
  readonly provisioned?: boolean;
  version: number;
}

export interface SaveRequest {
  readonly uid: string;
  readonly folderUid?: string;
  readonly overwrite?: boolean;
  readonly message?: string;
}

/** `up`: answer; `error`: 500; `garbage`: 200 with an HTML page; `down`: the connection is dropped unanswered. */
export type ApiStandInMode = 'up' | 'error' | 'garbage' | 'down';

export interface GrafanaApiStandIn {
  /** Base URL including the sub-path. */
  readonly url: string;
  /** Service-account token → the org it belongs to. */
  readonly tokens: Map<string, number>;
  /** uid → dashboard. */
  readonly dashboards: Map<string, StoredDashboard>;
  /** Requests answered, by `METHOD path` without the query (e.g. `GET /api/search`). */
  readonly calls: Map<string, number>;
  /** Every accepted save, in order, with the fields of the request body besides the dashboard. */
  readonly saves: SaveRequest[];
  /** Adds a dashboard: `model` as given (a v2 resource, say), else a minimal classic one; returns it. */
  addDashboard(
    uid: string,
    title: string,
    options?: {
      orgId?: number;
      folderUid?: string;
      folderTitle?: string;
      provisioned?: boolean;
      model?: Record<string, unknown>;
    }
  ): StoredDashboard;
  setMode(mode: ApiStandInMode): void;
  setDelay(ms: number): void;
  close(): Promise<void>;
}

const UNAUTHORIZED = { message: 'Unauthorized', messageId: 'auth.unauthorized', statusCode: 401, traceID: '' };
const MAX_LIMIT = 5000;
const DEFAULT_LIMIT = 1000;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

function slugify(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** The uid and title of a stored model, classic (`uid`, `title`) or v2 (`metadata.name`, `spec.title`). */
function identity(model: Record<string, unknown>): { uid: string; title: string } {
  const metadata = model['metadata'] as { name?: string } | undefined;
  const spec = model['spec'] as { title?: string } | undefined;
  return {
    uid: String(model['uid'] ?? metadata?.name ?? ''),
    title: String(model['title'] ?? spec?.title ?? ''),
  };
}

/** A positive integer query parameter, or the fallback when it is missing or not one (as Grafana does). */
function intParam(value: string | null, fallback: number): number {
  const n = Number(value);
  return value !== null && Number.isInteger(n) && n > 0 ? n : fallback;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startGrafanaApiStandIn(subPath = '/grafana'): Promise<GrafanaApiStandIn> {
  const tokens = new Map<string, number>();
  const dashboards = new Map<string, StoredDashboard>();
  const calls = new Map<string, number>();
  const saves: SaveRequest[] = [];
  let mode: ApiStandInMode = 'up';
  let delay = 0;
  let nextId = 1;
  const ids = new Map<string, number>();
  const idOf = (uid: string): number => {
    if (!ids.has(uid)) {
      ids.set(uid, nextId++);
    }
    return ids.get(uid)!;
  };

  function dashboardUrl(uid: string, title: string): string {
    return `${subPath}/d/${uid}/${slugify(title)}`;
  }

  function searchHit(stored: StoredDashboard): Record<string, unknown> {
    const { uid, title } = identity(stored.model);
    return {
      id: idOf(uid),
      uid,
      orgId: stored.orgId,
      title,
      uri: `db/${slugify(title)}`,
      url: dashboardUrl(uid, title),
      slug: '',
      type: 'dash-db',
      tags: [],
      isStarred: false,
      sortMeta: 0,
      isDeleted: false,
      ...(stored.folderUid === undefined
        ? {}
        : {
            folderId: idOf(`folder:${stored.folderUid}`),
            folderUid: stored.folderUid,
            folderTitle: stored.folderTitle ?? stored.folderUid,
            folderUrl: `${subPath}/dashboards/f/${stored.folderUid}/`,
          }),
    };
  }

  function search(url: URL, orgId: number, res: ServerResponse): void {
    const type = url.searchParams.get('type');
    const limit = Math.min(intParam(url.searchParams.get('limit'), DEFAULT_LIMIT), MAX_LIMIT);
    const page = intParam(url.searchParams.get('page'), 1);
    const wanted = url.searchParams.getAll('dashboardUIDs');
    const hits = type === 'dash-folder' ? [] : [...dashboards.values()].filter((d) => d.orgId === orgId);
    const chosen = wanted.length > 0 ? hits.filter((d) => wanted.includes(identity(d.model).uid)) : hits;
    chosen.sort((a, b) => identity(a.model).title.localeCompare(identity(b.model).title));
    json(res, 200, chosen.slice((page - 1) * limit, page * limit).map(searchHit));
  }

  /** The resource version part of a v2 dashboard's apiVersion, or undefined for a classic one. */
  function v2Version(stored: StoredDashboard): string | undefined {
    const apiVersion = stored.model['apiVersion'];
    return typeof apiVersion === 'string' && apiVersion.startsWith('dashboard.grafana.app/v2')
      ? apiVersion.split('/')[1]
      : undefined;
  }

  function resourcePath(version: string, uid: string): string {
    return `/apis/dashboard.grafana.app/${version}/namespaces/default/dashboards/${uid}`;
  }

  /** The v2 resource as the App Platform serves it: its metadata carries the resourceVersion. */
  function resource(stored: StoredDashboard): Record<string, unknown> {
    const metadata = (stored.model['metadata'] ?? {}) as Record<string, unknown>;
    const annotations = { ...((metadata['annotations'] ?? {}) as Record<string, string>) };
    if (stored.provisioned) {
      annotations['grafana.app/managedBy'] = 'classic-file-provisioning';
      annotations['grafana.app/managerId'] = 'default';
    }
    return {
      ...stored.model,
      metadata: {
        ...metadata,
        namespace: 'default',
        resourceVersion: String(stored.version),
        generation: stored.version,
        annotations,
      },
    };
  }

  async function putResource(req: IncomingMessage, uid: string, orgId: number, res: ServerResponse): Promise<void> {
    const stored = dashboards.get(uid);
    if (!stored || stored.orgId !== orgId || v2Version(stored) === undefined) {
      return json(res, 404, { kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
    }
    const body = (await readJson(req)) as Record<string, unknown>;
    const metadata = (body['metadata'] ?? {}) as Record<string, unknown>;
    if (metadata['resourceVersion'] !== String(stored.version)) {
      return json(res, 409, {
        kind: 'Status',
        status: 'Failure',
        reason: 'Conflict',
        code: 409,
        message: `Operation cannot be fulfilled on dashboards.dashboard.grafana.app "${uid}": the object has been modified; please apply your changes to the latest version and try again`,
      });
    }
    const { resourceVersion: _rv, generation: _g, namespace: _ns, ...keptMetadata } = metadata;
    stored.model = { ...body, metadata: keptMetadata };
    stored.version += 1;
    const annotations = (keptMetadata['annotations'] ?? {}) as Record<string, string>;
    saves.push({ uid, message: annotations['grafana.app/message'] });
    json(res, 200, resource(stored));
  }

  function read(uid: string, orgId: number, res: ServerResponse): void {
    const stored = dashboards.get(uid);
    if (!stored || stored.orgId !== orgId) {
      return json(res, 404, { message: 'Dashboard not found' });
    }
    const version = v2Version(stored);
    if (version !== undefined) {
      return json(res, 406, {
        message: `dashboard api version not supported, use ${resourcePath(version, uid)} instead`,
      });
    }
    const { title } = identity(stored.model);
    json(res, 200, {
      dashboard: { ...stored.model, id: idOf(uid), version: stored.version },
      meta: {
        type: 'db',
        canSave: true,
        canEdit: true,
        canAdmin: true,
        canStar: true,
        canDelete: true,
        slug: slugify(title),
        url: dashboardUrl(uid, title),
        expires: '0001-01-01T00:00:00Z',
        created: '2026-01-01T10:00:00Z',
        updated: '2026-11-01T10:00:00Z',
        updatedBy: 'admin',
        createdBy: 'admin',
        version: stored.version,
        hasAcl: false,
        isFolder: false,
        folderId: stored.folderUid === undefined ? 0 : idOf(`folder:${stored.folderUid}`),
        folderUid: stored.folderUid ?? '',
        folderTitle: stored.folderTitle ?? 'Dashboards',
        folderUrl: stored.folderUid === undefined ? '' : `${subPath}/dashboards/f/${stored.folderUid}/`,
        provisioned: stored.provisioned === true,
        provisionedExternalId: stored.provisioned === true ? `${uid}.json` : '',
      },
    });
  }

  async function save(req: IncomingMessage, orgId: number, res: ServerResponse): Promise<void> {
    let body: { dashboard?: Record<string, unknown>; overwrite?: boolean; folderUid?: string; message?: string };
    try {
      body = (await readJson(req)) as typeof body;
    } catch {
      return json(res, 400, { message: 'bad request data' });
    }
    const model = body?.dashboard;
    if (!model || typeof model !== 'object') {
      return json(res, 400, { message: 'bad request data' });
    }
    const { uid, title } = identity(model);
    if (title.trim() === '') {
      return json(res, 400, { message: 'Dashboard title cannot be empty', status: 'empty-name' });
    }
    const stored = dashboards.get(uid);
    if (stored && stored.orgId !== orgId) {
      return json(res, 404, { message: 'Dashboard not found' });
    }
    if (stored?.provisioned) {
      return json(res, 400, { message: 'Cannot save provisioned dashboard' });
    }
    if (stored && body.overwrite !== true && model['version'] !== stored.version) {
      return json(res, 412, { message: 'The dashboard has been changed by someone else', status: 'version-mismatch' });
    }
    const { id: _id, version: _version, ...kept } = model;
    const version = (stored?.version ?? 0) + 1;
    // Grafana moves the dashboard to the folder a save names; one without folderUid goes to General.
    const folderUid = body.folderUid === undefined || body.folderUid === '' ? undefined : body.folderUid;
    if (stored) {
      stored.model = kept;
      stored.version = version;
      stored.folderUid = folderUid;
    } else {
      dashboards.set(uid, { model: kept, orgId, version, ...(folderUid === undefined ? {} : { folderUid }) });
    }
    saves.push({ uid, folderUid: body.folderUid, overwrite: body.overwrite, message: body.message });
    json(res, 200, {
      id: idOf(uid),
      uid,
      url: dashboardUrl(uid, title),
      status: 'success',
      version,
      slug: slugify(title),
    });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const path = url.pathname.startsWith(subPath) ? url.pathname.slice(subPath.length) : url.pathname;
    const key = `${req.method} ${path.startsWith('/api/dashboards/uid/') ? '/api/dashboards/uid' : path}`;
    calls.set(key, (calls.get(key) ?? 0) + 1);
    if (mode === 'down') {
      res.destroy();
      return;
    }
    if (mode === 'error') {
      return json(res, 500, { message: 'Internal Server Error' });
    }
    if (mode === 'garbage') {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html><body>Grafana is starting</body></html>');
      return;
    }
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const orgId = bearer === undefined ? undefined : tokens.get(bearer);
    if (orgId === undefined) {
      return json(res, 401, UNAUTHORIZED);
    }
    if (req.method === 'GET' && path === '/api/search') {
      return search(url, orgId, res);
    }
    if (req.method === 'GET' && path.startsWith('/api/dashboards/uid/')) {
      return read(decodeURIComponent(path.slice('/api/dashboards/uid/'.length)), orgId, res);
    }
    if (req.method === 'POST' && path === '/api/dashboards/db') {
      return save(req, orgId, res);
    }
    const apis = /^\/apis\/dashboard\.grafana\.app\/([^/]+)\/namespaces\/default\/dashboards\/([^/]+)$/.exec(path);
    if (apis && req.method === 'GET') {
      const stored = dashboards.get(decodeURIComponent(apis[2]!));
      if (!stored || stored.orgId !== orgId || v2Version(stored) !== apis[1]) {
        return json(res, 404, { kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
      }
      return json(res, 200, resource(stored));
    }
    if (apis && req.method === 'PUT') {
      return putResource(req, decodeURIComponent(apis[2]!), orgId, res);
    }
    json(res, 404, { message: 'Not found' });
  }

  const server = createServer((req, res) => {
    const answer = (): void =>
      void route(req, res).catch(() => {
        if (!res.headersSent) {
          json(res, 500, { message: 'Internal Server Error' });
        }
      });
    if (delay > 0) {
      setTimeout(answer, delay);
    } else {
      answer();
    }
  });
  const { port, close } = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}${subPath}`,
    tokens,
    dashboards,
    calls,
    saves,
    addDashboard(uid, title, options = {}) {
      const stored: StoredDashboard = {
        model: options.model ?? {
          uid,
          title,
          panels: [],
          schemaVersion: 41,
          tags: [],
          time: { from: 'now-6h', to: 'now' },
        },
        orgId: options.orgId ?? 1,
        folderUid: options.folderUid,
        folderTitle: options.folderTitle,
        provisioned: options.provisioned,
        version: 1,
      };
      dashboards.set(uid, stored);
      return stored;
    },
    setMode: (m) => {
      mode = m;
    },
    setDelay: (ms) => {
      delay = ms;
    },
    close,
  };
}
