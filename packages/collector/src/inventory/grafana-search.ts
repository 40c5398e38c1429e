import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import getRawBody from 'raw-body';
import { z } from 'zod';

/** One dashboard as Grafana's search lists it. */
export interface ListedDashboard {
  readonly uid: string;
  readonly name: string;
  /** The folder's title; '' for the General folder (search leaves the folder fields out there). */
  readonly folder: string;
}

/** Why a listing failed: the label of footfall_collector_inventory_refreshes_total. */
export type ListingFailure = 'unauthorized' | 'http_error' | 'garbage' | 'unreachable' | 'too_many' | 'empty';

export class ListingError extends Error {
  readonly reason: ListingFailure;
  constructor(reason: ListingFailure, message: string) {
    super(message);
    this.name = 'ListingError';
    this.reason = reason;
  }
}

export interface ListingSettings {
  /** Grafana with its sub-path. */
  readonly grafanaUrl: string;
  /** A service account's token: the listing is what that account may see, its org's dashboards. */
  readonly token: string;
  readonly fetch: typeof fetch;
  /** Per page. */
  readonly timeoutMs: number;
  /** Hits per page: Grafana answers at most 5000. */
  readonly pageSize: number;
  /** A listing past this many dashboards fails rather than grow without bound. */
  readonly maxDashboards: number;
}

/**
 * What is read of a hit. Grafana sends more (id, url, tags…); the rest is ignored. A uid is at most 40
 * characters in Grafana; titles are capped by the collector's value limits later, not refused here.
 */
const hit = z.object({
  uid: z.string().min(1).max(256),
  title: z.string(),
  folderTitle: z.string().optional(),
});
const page = z.array(z.unknown());

/**
 * A hit is a few hundred bytes (uid, title, url, tags, folder); a page larger than this per hit is no
 * search answer, and is not read further: a Grafana (or a proxy in front of it) answering an endless
 * body would otherwise be buffered whole until the timeout.
 */
const MAX_BYTES_PER_HIT = 8192;

/**
 * Every dashboard of the token's org, through `GET /api/search?type=dash-db&limit=&page=`, page after
 * page until one comes back short. Throws a ListingError on any failure: a partial listing would look
 * like deleted dashboards.
 */
export async function listDashboards(settings: ListingSettings): Promise<ListedDashboard[]> {
  const base = settings.grafanaUrl.replace(/\/+$/, '');
  const byUid = new Map<string, ListedDashboard>();
  const maxPages = Math.ceil(settings.maxDashboards / settings.pageSize) + 1;
  for (let number = 1; number <= maxPages; number++) {
    const hits = await fetchPage(settings, `${base}/api/search?type=dash-db&limit=${settings.pageSize}&page=${number}`);
    const before = byUid.size;
    for (const entry of hits) {
      const parsed = hit.safeParse(entry);
      // A hit without a uid is not a dashboard a browser can name; it is skipped, not the whole listing.
      if (!parsed.success) {
        continue;
      }
      byUid.set(parsed.data.uid, {
        uid: parsed.data.uid,
        name: parsed.data.title,
        folder: parsed.data.folderTitle ?? '',
      });
    }
    if (byUid.size > settings.maxDashboards) {
      throw new ListingError(
        'too_many',
        `Grafana lists more than inventory.maxDashboards (${settings.maxDashboards}) dashboards`
      );
    }
    // A short page is the last; so is a full one that adds nothing (a Grafana that ignores `page`).
    if (hits.length < settings.pageSize || byUid.size === before) {
      return [...byUid.values()];
    }
  }
  throw new ListingError(
    'too_many',
    `Grafana lists more than inventory.maxDashboards (${settings.maxDashboards}) dashboards`
  );
}

async function fetchPage(settings: ListingSettings, url: string): Promise<unknown[]> {
  let response: Response;
  let text: string | undefined;
  const maxBytes = settings.pageSize * MAX_BYTES_PER_HIT;
  try {
    response = await settings.fetch(url, {
      headers: { Authorization: `Bearer ${settings.token}`, Accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
    text = await readText(response, maxBytes);
  } catch (err) {
    const timedOut = (err as Error).name === 'TimeoutError';
    throw new ListingError(
      'unreachable',
      timedOut
        ? `Grafana did not answer within ${settings.timeoutMs} ms`
        : `cannot reach Grafana: ${(err as Error).message}`
    );
  }
  if (response.status === 401 || response.status === 403) {
    throw new ListingError(
      'unauthorized',
      `Grafana answered ${response.status} to the inventory token: is it a service account token of this org, with dashboards:read?`
    );
  }
  if (response.status !== 200) {
    throw new ListingError('http_error', `Grafana answered ${response.status} to the dashboard search`);
  }
  if (text === undefined) {
    throw new ListingError('garbage', `the dashboard search answered more than ${maxBytes} bytes for one page`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ListingError('garbage', 'the dashboard search did not answer JSON');
  }
  const parsed = page.safeParse(body);
  if (!parsed.success) {
    throw new ListingError('garbage', 'the dashboard search did not answer a list');
  }
  return parsed.data;
}

/** The body as text, or undefined once it passes `limitBytes` (the rest is not read). */
async function readText(response: Response, limitBytes: number): Promise<string | undefined> {
  if (!response.body) {
    return '';
  }
  const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  try {
    return await getRawBody(body, { limit: limitBytes, encoding: 'utf8' });
  } catch (err) {
    if ((err as { type?: string }).type === 'entity.too.large') {
      return undefined;
    }
    throw err;
  } finally {
    // Past the limit, cancels the rest of the response rather than leave the connection streaming.
    body.destroy();
  }
}
