/**
 * Unused dashboards from Prometheus alone: two collector replicas with an inventory (a Grafana stand-in
 * answering the search API), one restarted from a state file whose last-opened times are weeks old, a
 * real Prometheus scraping both. The shipped dashboard's "Never opened" and "Not opened in N days"
 * queries return exactly the dashboards without a session in that time, whatever Prometheus's own
 * retention (the times come from the state file, not from counters Prometheus kept), the latest time
 * across replicas winning.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { neverOpenedQuery, notOpenedForQuery } from '../packages/cli/src/unused-queries.ts';
import { spawnWithConfig, type ConfiguredCollector } from './support/auth-config.ts';
import { startGrafanaApiStandIn, type GrafanaApiStandIn } from './support/grafana-api-stand-in.ts';
import { attrs, deltaSum, exportRequest, PANEL_RESOURCE } from './support/otlp.ts';
import { pollUntil, startPrometheus, type PrometheusServer } from './support/prometheus.ts';
import { send } from './support/requests.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dashboard = JSON.parse(
  readFileSync(join(ROOT, 'provisioning/dashboards/footfall/grafana-ception.json'), 'utf8')
) as {
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
};
const TOKEN = 'glsa_unused_dashboards_test';
const DAY = 86_400_000;
/** The workspace bin, as `npx footfall` runs it. */
const FOOTFALL_BIN = join(ROOT, 'packages/cli/bin/footfall.js');

/** The expression of the dashboard's panel with this title, N days substituted. */
function panelQuery(title: string, days = 30): string {
  const panel = dashboard.panels.find((p) => p.title === title);
  if (!panel?.targets?.[0]) {
    throw new Error(`no panel "${title}" in the shipped dashboard`);
  }
  return panel.targets[0].expr.replaceAll('$unused_days', String(days));
}

/**
 * uid → [title, folder, what happened]: opened now (on either replica), opened N days ago (in the
 * state file), or never; listed says for how many days the inventory has known it.
 */
const BOARDS = {
  'used-a': ['Used on A', 'Ops', { now: 'a' }],
  'used-b': ['Used on B', undefined, { now: 'b' }],
  'old-40': ['Forty days ago', 'Sales', { daysAgo: 40 }],
  'old-10': ['Ten days ago', 'Ops', { daysAgo: 10 }],
  // Forty days ago on replica A's state, but opened on replica B now: the latest time wins.
  'old-then-b': ['Old on A, now on B', 'Ops', { daysAgo: 40, now: 'b' }],
  'never-1': ['Never one', 'Sales', { listedDaysAgo: 100 }],
  'never-2': ['Never two', undefined, {}],
} as const satisfies Record<
  string,
  readonly [string, string | undefined, { now?: 'a' | 'b'; daysAgo?: number; listedDaysAgo?: number }]
>;
type Uid = keyof typeof BOARDS;

let grafana: GrafanaApiStandIn;
let replicaA: ConfiguredCollector;
let replicaB: ConfiguredCollector;
let prometheus: PrometheusServer;
const scratch = mkdtempSync(join(tmpdir(), 'footfall-unused-'));

async function openNow(collector: ConfiguredCollector, uids: readonly Uid[]): Promise<void> {
  const body = exportRequest(
    [
      {
        ...deltaSum(
          'grafana.dashboard.sessions',
          uids.map((uid) => ({ value: 1, attributes: attrs([['dashboard.uid', uid]]) }))
        ),
        unit: '{session}',
      },
    ],
    PANEL_RESOURCE
  );
  const answer = await send(`${collector.url}/v1/metrics`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(answer.status, answer.body.toString()).toBe(200);
  expect(answer.body.toString()).not.toContain('rejectedDataPoints');
}

async function uidsOf(expr: string): Promise<Map<string, { name?: string; folder?: string; days: number }>> {
  const rows = await prometheus.query(expr);
  return new Map(
    rows.map((r) => [
      r.metric.dashboard_uid!,
      { name: r.metric.dashboard_name, folder: r.metric.dashboard_folder, days: r.value },
    ])
  );
}

beforeAll(async () => {
  grafana = await startGrafanaApiStandIn();
  grafana.tokens.set(TOKEN, 1);
  for (const [uid, [title, folder]] of Object.entries(BOARDS)) {
    grafana.addDashboard(uid, title, folder ? { folderUid: `f-${folder}`, folderTitle: folder } : {});
  }

  // Replica A restarts from a state file that saw some dashboards opened weeks ago.
  const now = Date.now();
  const stateFile = join(scratch, 'state-a.json');
  writeFileSync(
    stateFile,
    JSON.stringify({
      version: 3,
      savedAt: new Date(now - DAY).toISOString(),
      counters: [],
      histograms: [],
      dashboards: Object.entries(BOARDS).map(([uid, [, , what]]) => ({
        uid,
        firstSeen: now - ('listedDaysAgo' in what ? what.listedDaysAgo : 200) * DAY,
        ...('daysAgo' in what ? { lastOpened: now - what.daysAgo * DAY } : {}),
      })),
      inventory: [],
    })
  );
  const config = (state?: string) => ({
    inventory: { grafanaUrl: grafana.url },
    ...(state ? { state: { file: state } } : {}),
  });
  const env = { FOOTFALL_INVENTORY_TOKEN: TOKEN };
  replicaA = await spawnWithConfig(config(stateFile), { env });
  replicaB = await spawnWithConfig(config(), { env });
  prometheus = await startPrometheus({
    job: 'footfall',
    targets: [new URL(replicaA.url).host, new URL(replicaB.url).host],
  });
  // Both replicas have listed Grafana's seven dashboards (an unlisted uid would wait for a listing).
  await pollUntil(
    async () => (await prometheus.query('count by (instance) (footfall_dashboard_info)')).map((r) => r.value),
    (v) => v.length === 2 && v.every((n) => n === 7),
    20_000
  );
  const opened = (replica: 'a' | 'b') =>
    (Object.keys(BOARDS) as Uid[]).filter((uid) => (BOARDS[uid][2] as { now?: string }).now === replica);
  await openNow(replicaA, opened('a'));
  await openNow(replicaB, opened('b'));
  await pollUntil(
    () => prometheus.query('footfall_dashboard_last_opened_timestamp_seconds'),
    (rows) => rows.length === 6,
    20_000
  );
}, 90_000);

afterAll(async () => {
  await prometheus?.stop();
  await replicaA?.stop();
  await replicaB?.stop();
  await grafana?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('unused dashboards, from Prometheus alone', () => {
  it('"Never opened" lists exactly the dashboards without a session, with their folders and how long they have been known', async () => {
    const never = await uidsOf(panelQuery('Never opened'));
    expect([...never.keys()].sort()).toEqual(['never-1', 'never-2']);
    expect(never.get('never-1')).toMatchObject({ name: 'Never one', folder: 'Sales' });
    expect(never.get('never-2')).toMatchObject({ name: 'Never two', folder: undefined });
    // The earliest first-seen time across replicas: the state file's 100 days, not replica B's moments.
    expect(never.get('never-1')!.days).toBeGreaterThan(99.9);
    expect(never.get('never-1')!.days).toBeLessThan(100.1);
  });

  it('"Not opened in N days" lists exactly the dashboards whose latest session, across replicas, is older', async () => {
    const older30 = await uidsOf(panelQuery('Not opened in $unused_days days', 30));
    expect([...older30.keys()]).toEqual(['old-40']);
    expect(older30.get('old-40')).toMatchObject({ name: 'Forty days ago', folder: 'Sales' });
    expect(older30.get('old-40')!.days).toBeGreaterThan(39.9);
    expect(older30.get('old-40')!.days).toBeLessThan(40.1);
    expect([...(await uidsOf(panelQuery('Not opened in $unused_days days', 7))).keys()].sort()).toEqual([
      'old-10',
      'old-40',
    ]);
    expect(await uidsOf(panelQuery('Not opened in $unused_days days', 365))).toEqual(new Map());
    // Longer than this Prometheus has data for (a few seconds): the times are the collector's, not Prometheus's.
    expect([...(await uidsOf(panelQuery('Not opened in $unused_days days', 0))).keys()].sort()).toEqual([
      'old-10',
      'old-40',
      'old-then-b',
      'used-a',
      'used-b',
    ]);
  });

  it('the dashboard and `footfall dashboards unused` ask Prometheus the same questions', () => {
    expect(panelQuery('Never opened')).toBe(neverOpenedQuery());
    for (const days of [0, 7, 30, 365]) {
      expect(panelQuery('Not opened in $unused_days days', days)).toBe(notOpenedForQuery(days));
    }
  });

  it('`footfall dashboards unused --days 30` prints the same set: not opened in 30 days, and never opened', async () => {
    const run = promisify(execFile);
    const json = await run(process.execPath, [
      FOOTFALL_BIN,
      'dashboards',
      'unused',
      '--prometheus',
      prometheus.url,
      '--days',
      '30',
      '--json',
    ]);
    const printed = JSON.parse(json.stdout) as {
      days: number;
      dashboards: Array<{ uid: string; name: string; folder: string; lastOpened: string | null; days: number }>;
    };
    expect(printed.days).toBe(30);
    const expected = new Set([
      ...(await uidsOf(panelQuery('Never opened'))).keys(),
      ...(await uidsOf(panelQuery('Not opened in $unused_days days', 30))).keys(),
    ]);
    expect(new Set(printed.dashboards.map((d) => d.uid))).toEqual(expected);
    expect(expected).toEqual(new Set(['never-1', 'never-2', 'old-40']));
    expect(printed.dashboards.find((d) => d.uid === 'old-40')).toMatchObject({
      name: 'Forty days ago',
      folder: 'Sales',
      days: 40,
    });
    expect(printed.dashboards.find((d) => d.uid === 'never-2')).toMatchObject({
      name: 'Never two',
      folder: '',
      lastOpened: null,
    });

    const table = await run(process.execPath, [
      FOOTFALL_BIN,
      'dashboards',
      'unused',
      '--prometheus',
      prometheus.url,
      '--days',
      '30',
    ]);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^UID\s+NAME\s+FOLDER\s+LAST OPENED\s+DAYS$/);
    expect(
      lines
        .slice(1)
        .map((l) => l.split(/\s{2,}/)[0])
        .sort()
    ).toEqual(['never-1', 'never-2', 'old-40']);
  });
});
