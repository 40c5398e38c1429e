/**
 * The CLI over Grafana's HTTP API with a service-account token: page through the dashboard search,
 * read each dashboard, change it, save it back with `overwrite: false` so a dashboard edited in the
 * meantime is reported (412) instead of overwritten. Provisioned dashboards are skipped: Grafana
 * refuses API saves for them, and their source is a file the user should change instead.
 *
 * A schema v2 dashboard is not served by the classic API: Grafana answers 406 and names the App
 * Platform resource (`/apis/dashboard.grafana.app/<version>/namespaces/<ns>/dashboards/<uid>`), which is
 * read there and written back with PUT, its `metadata.resourceVersion` making a concurrent edit a 409.
 * One managed by provisioning or Git Sync (`grafana.app/managedBy`, without `managerAllowsEdits`) is
 * skipped like a provisioned classic one.
 */
import pLimit from 'p-limit';
import { checkDashboard, transformDashboard, type DashboardAction, type TransformSettings } from './dashboard.js';
import { isObject, type JsonObject } from './json-document.js';
import { createReporter, EXIT, type Writer } from './report.js';

export interface ApiRun {
  readonly action: DashboardAction | 'check';
  /** Grafana's base URL, sub-path included. */
  readonly grafana: string;
  readonly token: string;
  readonly dryRun: boolean;
  readonly concurrency: number;
  readonly pageSize: number;
  readonly settings: TransformSettings;
  readonly stdout: Writer;
  readonly stderr: Writer;
}

/** Grafana answered, but not with what the call needs. */
export class GrafanaApiError extends Error {
  override readonly name = 'GrafanaApiError';
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

const SAVE_MESSAGES: Record<DashboardAction, string> = {
  inject: 'footfall: inject usage panel',
  remove: 'footfall: remove usage panel',
  migrate: 'footfall: replace macropower-analytics-panel with the usage panel',
};

/** The App Platform path of a v2 dashboard, as Grafana's 406 names it. */
const V2_RESOURCE = /\/apis\/dashboard\.grafana\.app\/[\w.-]+\/namespaces\/[\w.-]+\/dashboards\/[\w.-]+/;

/** A dashboard as read: through the classic API, or as a v2 resource of the App Platform. */
type Stored =
  | { readonly schema: 'classic'; readonly dashboard: JsonObject; readonly meta: JsonObject }
  | { readonly schema: 'v2'; readonly resource: JsonObject; readonly path: string };

/** Managed elsewhere (file provisioning, Git Sync, another tool) and not open to edits through the API. */
function managed(stored: Stored): boolean {
  if (stored.schema === 'classic') {
    return stored.meta['provisioned'] === true;
  }
  const metadata = stored.resource['metadata'];
  const annotations = isObject(metadata) && isObject(metadata['annotations']) ? metadata['annotations'] : {};
  return (
    typeof annotations['grafana.app/managedBy'] === 'string' && annotations['grafana.app/managerAllowsEdits'] !== 'true'
  );
}

interface SearchHit {
  readonly uid: string;
  readonly title: string;
  readonly folderUid?: string;
  readonly folderTitle?: string;
}

function explain(status: number, body: unknown, what: string): string {
  const message =
    isObject(body as JsonObject) && typeof (body as JsonObject)['message'] === 'string'
      ? String((body as JsonObject)['message'])
      : '';
  if (status === 401) {
    return 'Grafana answered 401 Unauthorized: the token is missing, wrong or expired. Use a service-account token (FOOTFALL_GRAFANA_TOKEN) of an Editor or Admin.';
  }
  if (status === 403) {
    return `${what}: 403 Forbidden${message ? ` (${message})` : ''}: the service account may not do this; give it the Editor role or dashboard write permission`;
  }
  if (status === 412 || status === 409) {
    return `${what}: changed in Grafana since it was read (${status} ${message || 'version-mismatch'}); run again`;
  }
  return `${what}: Grafana answered ${status}${message ? ` (${message})` : ''}`;
}

function createClient(grafana: string, token: string) {
  const base = grafana.replace(/\/+$/, '');
  const call = async (method: string, path: string, what: string, body?: unknown): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new GrafanaApiError(
        `cannot reach Grafana at ${base}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`,
        0
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new GrafanaApiError(
        `${what}: Grafana answered ${res.status} with something that is not JSON; is ${base} Grafana's URL (with its sub-path)?`,
        res.status
      );
    }
    if (!res.ok) {
      throw new GrafanaApiError(explain(res.status, parsed, what), res.status);
    }
    return parsed;
  };
  return {
    async search(page: number, limit: number): Promise<SearchHit[]> {
      const hits = await call('GET', `/api/search?type=dash-db&limit=${limit}&page=${page}`, 'dashboard search');
      if (!Array.isArray(hits)) {
        throw new GrafanaApiError('dashboard search: Grafana answered with something that is not a list', 200);
      }
      return hits as SearchHit[];
    },
    async read(uid: string): Promise<Stored> {
      let body: unknown;
      try {
        body = await call('GET', `/api/dashboards/uid/${encodeURIComponent(uid)}`, 'read');
      } catch (error) {
        const resource =
          error instanceof GrafanaApiError && error.status === 406 ? V2_RESOURCE.exec(error.message)?.[0] : undefined;
        if (resource === undefined) {
          throw error;
        }
        const v2 = await call('GET', resource, 'read');
        if (!isObject(v2 as JsonObject)) {
          throw new GrafanaApiError('read: no dashboard resource in the answer', 200);
        }
        return { schema: 'v2', resource: v2 as JsonObject, path: resource };
      }
      if (!isObject(body as JsonObject) || !isObject((body as JsonObject)['dashboard'])) {
        throw new GrafanaApiError('read: no dashboard in the answer', 200);
      }
      const { dashboard, meta } = body as { dashboard: JsonObject; meta?: JsonObject };
      return { schema: 'classic', dashboard, meta: isObject(meta) ? meta : {} };
    },
    async save(body: JsonObject): Promise<void> {
      await call('POST', '/api/dashboards/db', 'save', body);
    },
    async put(path: string, resource: JsonObject): Promise<void> {
      await call('PUT', path, 'save', resource);
    },
  };
}

/** The resource with the version-history message Grafana keeps for a save (`grafana.app/message`). */
function withMessage(resource: JsonObject, message: string): JsonObject {
  const metadata = isObject(resource['metadata']) ? resource['metadata'] : {};
  const annotations = isObject(metadata['annotations']) ? metadata['annotations'] : {};
  return { ...resource, metadata: { ...metadata, annotations: { ...annotations, 'grafana.app/message': message } } };
}

export async function runOnGrafana(run: ApiRun): Promise<number> {
  const client = createClient(run.grafana, run.token);
  const hits: SearchHit[] = [];
  try {
    // Grafana returns at most `limit` hits per page; a shorter page is the last one.
    for (let page = 1; ; page++) {
      const batch = await client.search(page, run.pageSize);
      hits.push(...batch);
      if (batch.length < run.pageSize) {
        break;
      }
    }
  } catch (error) {
    run.stderr.write(`error: ${(error as Error).message}\n`);
    return EXIT.unreachable;
  }
  const reporter = createReporter({
    check: run.action === 'check',
    dryRun: run.dryRun,
    total: hits.length,
    stdout: run.stdout,
    stderr: run.stderr,
  });
  const limit = pLimit(run.concurrency);
  let unauthorized = false;
  await Promise.all(
    hits.map((hit) =>
      limit(async () => {
        const name = `${hit.uid} (${hit.folderTitle ? `${hit.folderTitle}/` : ''}${hit.title})`;
        try {
          const stored = await client.read(hit.uid);
          if (managed(stored)) {
            return reporter.dashboard(name, 'provisioned');
          }
          const text = JSON.stringify(stored.schema === 'classic' ? stored.dashboard : stored.resource, null, 2);
          if (run.action === 'check') {
            const result = checkDashboard(text);
            if (result.status === 'skipped') {
              return reporter.notDashboard(name, result.problems.join('; '));
            }
            return reporter.dashboard(name, result.status === 'ok' ? 'pass' : 'fail', { notes: result.problems });
          }
          const result = transformDashboard(text, run.action, run.settings);
          if (result.status === 'skipped') {
            return reporter.notDashboard(name, result.notes.join('; '));
          }
          if (result.status === 'changed' && !run.dryRun) {
            const changed = JSON.parse(result.text) as JsonObject;
            if (stored.schema === 'v2') {
              await client.put(stored.path, withMessage(changed, SAVE_MESSAGES[run.action]));
            } else {
              const folderUid =
                typeof stored.meta['folderUid'] === 'string' ? stored.meta['folderUid'] : (hit.folderUid ?? '');
              await client.save({
                dashboard: changed,
                folderUid,
                overwrite: false,
                message: SAVE_MESSAGES[run.action],
              });
            }
          }
          return reporter.dashboard(name, result.status, { notes: result.notes, before: text, after: result.text });
        } catch (error) {
          if (error instanceof GrafanaApiError && error.status === 401) {
            unauthorized = true;
          }
          return reporter.dashboard(name, 'failed', { notes: [(error as Error).message] });
        }
      })
    )
  );
  const status = reporter.finish();
  return unauthorized ? EXIT.unreachable : status;
}
