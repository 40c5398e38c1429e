/**
 * For end-to-end tests of the collector's auth modes: a collector process started from a YAML
 * configuration, OTLP exports carrying the credentials a browser or a proxy would attach (cookie,
 * header, Origin, bearer token, even the peer address), and the self-metrics that count the decisions.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { spawnCollector, type CollectorProcess } from './collector-process.ts';
import { scrape, type Sample } from './exposition.ts';
import { exportRequest, kv, PANEL_RESOURCE, sessionsMetric, type JsonKeyValue } from './otlp.ts';

export interface ConfiguredCollector extends CollectorProcess {
  /** The YAML the process was started with, for failure messages. */
  readonly yaml: string;
}

/**
 * Runs the built collector (`node dist/main.js --config <file>`) with `config` written as YAML to a
 * temporary file; stop() also removes the file.
 */
export async function spawnWithConfig(
  config: Record<string, unknown>,
  options: { readonly env?: Record<string, string>; readonly args?: string[] } = {}
): Promise<ConfiguredCollector> {
  const dir = mkdtempSync(join(tmpdir(), 'footfall-auth-'));
  const file = join(dir, 'collector.yaml');
  const yaml = stringify(config);
  writeFileSync(file, yaml);
  let proc: CollectorProcess;
  try {
    proc = await spawnCollector(['--config', file, ...(options.args ?? [])], options.env ?? {});
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\nconfig:\n${yaml}`);
  }
  return {
    ...proc,
    yaml,
    stop: async () => {
      try {
        return await proc.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export interface ExportOptions {
  /** dashboard.uid of the one grafana.dashboard.sessions point. */
  readonly uid: string;
  readonly value?: number;
  /** A login the payload claims, on the resource and on the point (the privacy stage must not believe it). */
  readonly claimedLogin?: string;
  /** A list sends the header once per value, as a client repeating it does. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /** Connect from this loopback address (127.0.0.2 …) to look like another peer. */
  readonly localAddress?: string;
  readonly method?: string;
  /** Send no body at all (a preflight, a GET). */
  readonly noBody?: boolean;
}

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  readonly ms: number;
  /** The google.rpc.Status of an error answer (OTLP/JSON), when it has one. */
  readonly rpc: { readonly code: number; readonly message: string } | undefined;
}

/** The OTLP/JSON body of an export with one session point, optionally claiming a login. */
export function sessionsBody(options: Pick<ExportOptions, 'uid' | 'value' | 'claimedLogin'>): Buffer {
  const claim: JsonKeyValue[] = options.claimedLogin === undefined ? [] : [kv('user.login', options.claimedLogin)];
  const metric = sessionsMetric([{ uid: options.uid, value: options.value ?? 1 }]);
  const points = (metric.sum as { dataPoints: Array<{ attributes: JsonKeyValue[] }> }).dataPoints;
  for (const point of points) {
    point.attributes.push(...claim);
  }
  return Buffer.from(JSON.stringify(exportRequest([metric], [...PANEL_RESOURCE, ...claim])));
}

/**
 * POSTs (by default) one OTLP/JSON export to `<collector>/v1/metrics`, on its own connection. Not
 * requests.ts's send(): a proxy-header test must choose the address the request comes from.
 */
export function exportTo(collectorUrl: string, options: ExportOptions): Promise<Answer> {
  const body = options.noBody ? undefined : sessionsBody(options);
  const headers: Record<string, string | readonly string[]> = {
    ...(body ? { 'content-type': 'application/json' } : {}),
    ...options.headers,
  };
  if (body) {
    headers['content-length'] = String(body.length);
  }
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      `${collectorUrl}/v1/metrics`,
      { method: options.method ?? 'POST', headers, agent: false, localAddress: options.localAddress },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let rpc: Answer['rpc'];
          try {
            const parsed = JSON.parse(text) as { code?: unknown; message?: unknown };
            if (typeof parsed.code === 'number' && typeof parsed.message === 'string') {
              rpc = { code: parsed.code, message: parsed.message };
            }
          } catch {
            rpc = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, ms: performance.now() - started, rpc });
        });
      }
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The self-metrics a test of the auth modes compares before and after: keys `mode/outcome` and `code reason`. */
export interface Counts {
  readonly auth: Record<string, number>;
  readonly requests: Record<string, number>;
  readonly samples: readonly Sample[];
  readonly text: string;
}

export async function counts(collectorUrl: string): Promise<Counts> {
  const { samples, text } = await scrape(collectorUrl);
  const auth: Record<string, number> = {};
  const requests: Record<string, number> = {};
  for (const s of samples) {
    if (s.name === 'footfall_collector_auth_total') {
      const key = `${s.labels.mode}/${s.labels.outcome}`;
      auth[key] = (auth[key] ?? 0) + s.value;
    } else if (s.name === 'footfall_collector_requests_total') {
      const key = `${s.labels.code} ${s.labels.reason}`;
      requests[key] = (requests[key] ?? 0) + s.value;
    }
  }
  return { auth, requests, samples, text };
}

/** What changed between two readings of a counter family, zero changes left out. */
export function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const d = (after[key] ?? 0) - (before[key] ?? 0);
    if (d !== 0) {
      out[key] = d;
    }
  }
  return out;
}
