/**
 * `footfall dashboards unused`: asks Prometheus which dashboards nobody opened in the last N days or
 * ever, and prints them as a table or JSON.
 */
import { neverOpenedQuery, notOpenedForQuery } from './unused-queries.js';

export interface UnusedDashboard {
  readonly uid: string;
  readonly name: string;
  /** Empty for the General folder. */
  readonly folder: string;
  /** Day of the last session (UTC, YYYY-MM-DD); null when never opened. */
  readonly lastOpened: string | null;
  /** Whole days since the last session, or since the dashboard was first listed when never opened. */
  readonly days: number;
}

/** Prometheus could not be asked, or did not answer as its HTTP API does. */
export class PrometheusQueryError extends Error {
  override readonly name = 'PrometheusQueryError';
}

interface VectorSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

async function instantQuery(prometheus: string, expr: string): Promise<VectorSample[]> {
  // Evaluated at Prometheus's own now; each sample carries that time, which dates the last session.
  const url = `${prometheus.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(expr)}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { Accept: 'application/json' } });
  } catch (error) {
    throw new PrometheusQueryError(
      `cannot reach Prometheus at ${prometheus}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`
    );
  }
  let body: {
    status?: string;
    errorType?: string;
    error?: string;
    data?: { resultType?: string; result?: VectorSample[] };
  };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new PrometheusQueryError(
      `Prometheus at ${prometheus} answered ${res.status} with something that is not its query API's JSON; is the URL right?`
    );
  }
  if (body.status !== 'success' || body.data?.resultType !== 'vector' || !Array.isArray(body.data.result)) {
    throw new PrometheusQueryError(
      `Prometheus answered ${res.status}: ${body.errorType ?? 'error'}: ${body.error ?? 'no vector result'}`
    );
  }
  return body.data.result;
}

function day(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10);
}

/** Never-opened dashboards first, then the rest; longest unused first within each. */
export async function findUnused(prometheus: string, days: number): Promise<UnusedDashboard[]> {
  const [never, stale] = await Promise.all([
    instantQuery(prometheus, neverOpenedQuery()),
    instantQuery(prometheus, notOpenedForQuery(days)),
  ]);
  const row = (sample: VectorSample, opened: boolean): UnusedDashboard => {
    const age = Number(sample.value[1]);
    return {
      uid: sample.metric['dashboard_uid'] ?? '',
      name: sample.metric['dashboard_name'] ?? '',
      folder: sample.metric['dashboard_folder'] ?? '',
      lastOpened: opened ? day(sample.value[0] - age * 86400) : null,
      days: Math.floor(age),
    };
  };
  const byAge = (a: UnusedDashboard, b: UnusedDashboard): number => b.days - a.days || a.uid.localeCompare(b.uid);
  return [...never.map((s) => row(s, false)).sort(byAge), ...stale.map((s) => row(s, true)).sort(byAge)];
}

/**
 * Plain columns separated by two spaces: easy to read and to cut or awk. Hand-written because it is
 * a few lines and a table library's borders would get in the way of both.
 */
export function formatTable(rows: readonly UnusedDashboard[]): string {
  const header = ['UID', 'NAME', 'FOLDER', 'LAST OPENED', 'DAYS'];
  const cells = rows.map((r) => [
    r.uid,
    r.name,
    r.folder === '' ? 'General' : r.folder,
    r.lastOpened ?? 'never',
    String(r.days),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return (
    [header, ...cells]
      .map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
      .join('\n') + '\n'
  );
}

export function formatJson(rows: readonly UnusedDashboard[], days: number): string {
  return `${JSON.stringify({ days, dashboards: rows }, null, 2)}\n`;
}
