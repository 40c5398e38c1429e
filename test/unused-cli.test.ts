/**
 * `footfall dashboards unused` against a real Prometheus that scrapes a fixed exposition shaped like
 * the collector's (two replicas, a dashboard without a first-seen series, one Grafana no longer has),
 * so the PromQL in packages/cli/src/unused-queries.ts is checked by Prometheus itself: operator
 * precedence, the replica collapse and the joins.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { neverOpenedQuery, notOpenedForQuery } from '../packages/cli/src/unused-queries.ts';
import { pollUntil, startPrometheus, type PrometheusServer } from './support/prometheus.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'node_modules', '.bin', 'footfall');
const DAY = 86400;
const now = Math.floor(Date.now() / 1000);

function exposition(): string {
  const info = (uid: string, name: string, folder: string, replica: string): string =>
    `footfall_dashboard_info{dashboard_uid="${uid}",dashboard_name="${name}",dashboard_folder="${folder}",replica="${replica}"} 1`;
  return [
    '# TYPE footfall_dashboard_info gauge',
    info('alpha', 'Alpha', 'Ops', '1'),
    info('alpha', 'Alpha', 'Ops', '2'),
    info('beta', 'Beta', '', '1'),
    info('gamma', 'Gamma', 'Sales', '1'),
    info('delta', 'Delta', 'Sales', '2'),
    info('eps', 'Epsilon', 'Ops', '1'),
    '# TYPE footfall_dashboard_last_opened_timestamp_seconds gauge',
    `footfall_dashboard_last_opened_timestamp_seconds{dashboard_uid="alpha",replica="1"} ${now - 2 * DAY}`,
    `footfall_dashboard_last_opened_timestamp_seconds{dashboard_uid="beta",replica="1"} ${now - 45 * DAY - 3600}`,
    // Opened long ago through one replica, recently through the other: recent wins.
    `footfall_dashboard_last_opened_timestamp_seconds{dashboard_uid="eps",replica="1"} ${now - 100 * DAY}`,
    `footfall_dashboard_last_opened_timestamp_seconds{dashboard_uid="eps",replica="2"} ${now - 5 * DAY}`,
    // Grafana no longer has this one (no info series): not listed.
    `footfall_dashboard_last_opened_timestamp_seconds{dashboard_uid="gone",replica="1"} ${now - 90 * DAY}`,
    '# TYPE footfall_dashboard_first_seen_timestamp_seconds gauge',
    `footfall_dashboard_first_seen_timestamp_seconds{dashboard_uid="gamma",replica="1"} ${now - 10 * DAY - 60}`,
    `footfall_dashboard_first_seen_timestamp_seconds{dashboard_uid="gamma",replica="2"} ${now - 3 * DAY}`,
    `footfall_dashboard_first_seen_timestamp_seconds{dashboard_uid="alpha",replica="1"} ${now - 50 * DAY}`,
    '',
  ].join('\n');
}

function footfall(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(BIN, args, {
      cwd: ROOT,
      env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}` },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

let server: Server;
let prometheus: PrometheusServer;

beforeAll(async () => {
  const text = exposition();
  server = createServer((_, res) => res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(text));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  prometheus = await startPrometheus({ job: 'footfall', targets: [`127.0.0.1:${port}`] });
  await pollUntil(
    () => prometheus.query('count(footfall_dashboard_info)'),
    (r) => r[0]?.value === 6
  );
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  server?.close();
});

describe('the unused queries in Prometheus', () => {
  it('never opened: every dashboard without a session, with days known (0 without a first-seen series)', async () => {
    const rows = await prometheus.query(neverOpenedQuery());
    const byUid = Object.fromEntries(rows.map((r) => [r.metric['dashboard_uid'], r]));
    expect(Object.keys(byUid).sort()).toEqual(['delta', 'gamma']);
    expect(byUid['gamma']!.metric).toMatchObject({ dashboard_name: 'Gamma', dashboard_folder: 'Sales' });
    expect(Math.floor(byUid['gamma']!.value)).toBe(10);
    expect(byUid['delta']!.value).toBe(0);
  });

  it('not opened in N days: only older sessions, the newest replica’s session counting, labels joined', async () => {
    const rows = await prometheus.query(notOpenedForQuery(30));
    expect(rows.map((r) => r.metric['dashboard_uid'])).toEqual(['beta']);
    // An empty label is no label in Prometheus: the General folder has no dashboard_folder.
    expect(rows[0]!.metric).toEqual({ dashboard_uid: 'beta', dashboard_name: 'Beta' });
    expect(Math.floor(rows[0]!.value)).toBe(45);
    expect((await prometheus.query(notOpenedForQuery(1))).map((r) => r.metric['dashboard_uid']).sort()).toEqual([
      'alpha',
      'beta',
      'eps',
    ]);
  });
});

describe('footfall dashboards unused', () => {
  it('prints a table of never-opened dashboards, then those unused for more than --days', async () => {
    const run = await footfall(['dashboards', 'unused', '--prometheus', prometheus.url, '--days', '30']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^UID\s+NAME\s+FOLDER\s+LAST OPENED\s+DAYS$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/))).toEqual([
      ['gamma', 'Gamma', 'Sales', 'never', '10'],
      ['delta', 'Delta', 'Sales', 'never', '0'],
      ['beta', 'Beta', 'General', new Date((now - 45 * DAY - 3600) * 1000).toISOString().slice(0, 10), '45'],
    ]);
  });

  it('prints JSON with --json', async () => {
    const run = await footfall(['dashboards', 'unused', '--prometheus', prometheus.url, '--days', '30', '--json']);
    expect(run.code).toBe(0);
    const body = JSON.parse(run.stdout) as { days: number; dashboards: Array<Record<string, unknown>> };
    expect(body.days).toBe(30);
    expect(body.dashboards.map((d) => [d['uid'], d['lastOpened'] === null, d['days']])).toEqual([
      ['gamma', true, 10],
      ['delta', true, 0],
      ['beta', false, 45],
    ]);
  });

  it('exits 4 with a clear message when Prometheus cannot be queried', async () => {
    const run = await footfall(['dashboards', 'unused', '--prometheus', 'http://127.0.0.1:1', '--days', '30']);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/^error: cannot reach Prometheus at http:\/\/127\.0\.0\.1:1/);
  });
});
