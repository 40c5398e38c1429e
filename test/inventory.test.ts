/**
 * The dashboard inventory, end to end: the built collector lists a Grafana's dashboards through the
 * search API (a stand-in answering like Grafana: paging, 401 without the token, down, garbage), exposes
 * them as footfall_dashboard_info, names series from it rather than from the browser, refuses uids
 * Grafana does not have (after one listing), and keeps the last listing when Grafana fails, also
 * across a restart.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnCollector, type CollectorProcess } from './support/collector.ts';
import { scrape, sumOf, type Sample } from './support/exposition.ts';
import { startGrafanaApiStandIn, type GrafanaApiStandIn } from './support/grafana-api-stand-in.ts';
import { attrs, deltaSum, exportRequest, PANEL_RESOURCE, type ExportRequest } from './support/otlp.ts';
import { pollUntil } from './support/prometheus.ts';
import { send } from './support/requests.ts';

const TOKEN = 'glsa_inventory_test_token';
const DASHBOARDS = 2500;
const FOLDERS = 25;

/** Dashboard i: in folder i % 25, except every 10th, which is in the General folder. */
function folderOf(i: number): string | undefined {
  return i % 10 === 0 ? undefined : `Team ${String(i % FOLDERS).padStart(2, '0')}`;
}

let grafana: GrafanaApiStandIn;
const scratch: string[] = [];
const running: CollectorProcess[] = [];

beforeAll(async () => {
  grafana = await startGrafanaApiStandIn();
  grafana.tokens.set(TOKEN, 1);
  for (let i = 0; i < DASHBOARDS; i++) {
    const folder = folderOf(i);
    grafana.addDashboard(
      `dash-${i}`,
      `Dashboard ${i}`,
      folder === undefined ? {} : { folderUid: `f-${i % FOLDERS}`, folderTitle: folder }
    );
  }
  // Another org's dashboard, which this token must not see.
  grafana.addDashboard('other-org', 'Not ours', { orgId: 2 });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
  grafana.setMode('up');
  grafana.setDelay(0);
  grafana.tokens.set(TOKEN, 1);
  grafana.dashboards.delete('brand-new');
});

afterAll(async () => {
  await grafana.close();
  for (const dir of scratch) {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function launch(extra: Record<string, unknown> = {}, stateFile?: string): Promise<CollectorProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'footfall-inventory-'));
  scratch.push(dir);
  const configFile = join(dir, 'collector.yaml');
  writeFileSync(
    configFile,
    JSON.stringify({
      inventory: { grafanaUrl: grafana.url, pageSize: 1000, intervalSeconds: 3600, minIntervalSeconds: 1, ...extra },
      ...(stateFile === undefined ? {} : { state: { file: stateFile } }),
    })
  );
  const collector = await spawnCollector(['--config', configFile], { FOOTFALL_INVENTORY_TOKEN: TOKEN });
  running.push(collector);
  return collector;
}

function infoSeries(samples: readonly Sample[]): Map<string, Record<string, string>> {
  return new Map(
    samples.filter((s) => s.name === 'footfall_dashboard_info').map((s) => [s.labels.dashboard_uid!, s.labels])
  );
}

async function listed(collector: CollectorProcess, count: number): Promise<Sample[]> {
  return pollUntil(
    async () => (await scrape(collector.url)).samples,
    (samples) => infoSeries(samples).size === count,
    15_000
  );
}

/** A browser's sessions for these dashboards, each claiming a name and folder of its own. */
function sessions(uids: readonly string[]): ExportRequest {
  return exportRequest(
    [
      {
        ...deltaSum(
          'grafana.dashboard.sessions',
          uids.map((uid) => ({
            value: 1,
            attributes: attrs([
              ['dashboard.uid', uid],
              ['dashboard.name', 'Invented by the browser'],
              ['dashboard.folder', 'Fake folder'],
            ]),
          }))
        ),
        unit: '{session}',
      },
    ],
    PANEL_RESOURCE
  );
}

async function post(collector: CollectorProcess, body: ExportRequest) {
  const result = await send(`${collector.url}/v1/metrics`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    ...result,
    json: result.body.length > 0 ? (JSON.parse(result.body.toString()) as Record<string, unknown>) : {},
  };
}

describe('the dashboard inventory', () => {
  it("lists 2,500 dashboards over several pages, with their folders, and only the token's org", async () => {
    const collector = await launch();
    const samples = await listed(collector, DASHBOARDS);
    const info = infoSeries(samples);
    for (let i = 0; i < DASHBOARDS; i++) {
      const labels = info.get(`dash-${i}`);
      expect(labels?.dashboard_name).toBe(`Dashboard ${i}`);
      expect(labels?.dashboard_folder).toBe(folderOf(i));
    }
    expect(info.has('other-org')).toBe(false);
    expect(samples.find((s) => s.name === 'footfall_dashboard_info')?.value).toBe(1);
    // 2,500 at 1,000 a page: three pages, the last one short.
    expect(grafana.calls.get('GET /api/search')).toBeGreaterThanOrEqual(3);
    expect(sumOf(samples, 'footfall_collector_inventory_dashboards')).toBe(DASHBOARDS);
    expect(sumOf(samples, 'footfall_collector_inventory_refreshes_total', { result: 'ok' })).toBeGreaterThanOrEqual(1);
  });

  it("names series from Grafana, not from the browser, and keeps the General folder's series without a folder", async () => {
    const collector = await launch();
    await listed(collector, DASHBOARDS);
    const answer = await post(collector, sessions(['dash-7', 'dash-20']));
    expect(answer.status).toBe(200);
    expect(answer.json['partialSuccess']).toBeUndefined();
    const { samples } = await scrape(collector.url);
    const series = samples.filter((s) => s.name === 'grafana_analytics_sessions_total');
    expect(
      series.map((s) => [s.labels.dashboard_uid, s.labels.dashboard_name, s.labels.dashboard_folder]).sort()
    ).toEqual([
      ['dash-20', 'Dashboard 20', undefined],
      ['dash-7', 'Dashboard 7', 'Team 07'],
    ]);
    expect(
      samples.some(
        (s) =>
          Object.values(s.labels).includes('Invented by the browser') || Object.values(s.labels).includes('Fake folder')
      )
    ).toBe(false);
  });

  it('refuses a uid Grafana does not know, after one listing, and takes a dashboard made a moment ago', async () => {
    const collector = await launch();
    await listed(collector, DASHBOARDS);
    const searchesBefore = grafana.calls.get('GET /api/search') ?? 0;
    grafana.addDashboard('brand-new', 'Made a moment ago', { folderUid: 'f-new', folderTitle: 'New folder' });

    // Neither uid was listed: nothing is recorded yet, the sender is told to retry, and a listing is brought forward.
    const first = await post(collector, sessions(['dash-1', 'invented-uid', 'brand-new']));
    expect(first.status).toBe(503);
    expect(Number(first.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    const retried = await pollUntil(
      () => post(collector, sessions(['dash-1', 'invented-uid', 'brand-new'])),
      (r) => r.status === 200,
      15_000
    );
    expect(grafana.calls.get('GET /api/search')!).toBeGreaterThan(searchesBefore);
    expect(retried.json['partialSuccess']).toMatchObject({ rejectedDataPoints: '1' });
    expect(String((retried.json['partialSuccess'] as Record<string, unknown>)['errorMessage'])).toContain(
      'not a dashboard Grafana has'
    );

    const { samples } = await scrape(collector.url);
    expect(
      sumOf(samples, 'grafana_analytics_sessions_total', {
        dashboard_uid: 'brand-new',
        dashboard_name: 'Made a moment ago',
        dashboard_folder: 'New folder',
      })
    ).toBe(1);
    expect(sumOf(samples, 'grafana_analytics_sessions_total', { dashboard_uid: 'dash-1' })).toBe(1);
    expect(samples.some((s) => s.labels.dashboard_uid === 'invented-uid')).toBe(false);
    expect(sumOf(samples, 'footfall_collector_points_refused_total', { reason: 'unknown_dashboard' })).toBe(1);
    expect(infoSeries(samples).get('brand-new')?.dashboard_name).toBe('Made a moment ago');

    // Known to be unknown now: refused at once, without another listing.
    const searches = grafana.calls.get('GET /api/search');
    const again = await post(collector, sessions(['invented-uid']));
    expect(again.status).toBe(200);
    expect(again.json['partialSuccess']).toMatchObject({ rejectedDataPoints: '1' });
    expect(grafana.calls.get('GET /api/search')).toBe(searches);
  });

  it.each([
    ['down', 'unreachable'],
    ['error', 'http_error'],
    ['garbage', 'garbage'],
    ['unauthorized', 'unauthorized'],
  ] as const)(
    'Grafana %s: keeps the last listing, counts the failure, logs it once, never crashes',
    async (failure, reason) => {
      const collector = await launch();
      await listed(collector, DASHBOARDS);
      if (failure === 'unauthorized') {
        grafana.tokens.delete(TOKEN);
      } else {
        grafana.setMode(failure);
      }
      // Unknown uids ask for listings (at most one a second here): several fail in a row.
      for (let i = 0; i < 3; i++) {
        await post(collector, sessions([`unknown-${i}`]));
        await pollUntil(
          async () => (await scrape(collector.url)).samples,
          (samples) => sumOf(samples, 'footfall_collector_inventory_refreshes_total', { result: reason }) >= i + 1,
          15_000
        );
      }
      const { samples } = await scrape(collector.url);
      expect(infoSeries(samples).size).toBe(DASHBOARDS);
      expect(collector.child.exitCode).toBeNull();
      const warnings = collector.output.filter((line) => line.includes('cannot list the dashboard inventory'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).not.toContain(TOKEN);
      // Dashboards already listed are still taken; the unknown ones wait (503), none is refused for good.
      const known = await post(collector, sessions(['dash-3']));
      expect(known.status).toBe(200);
      expect(known.json['partialSuccess']).toBeUndefined();
      expect((await post(collector, sessions(['unknown-0']))).status).toBe(503);

      // Grafana back: one line says so, and the waiting uid is decided.
      grafana.setMode('up');
      grafana.tokens.set(TOKEN, 1);
      const decided = await pollUntil(
        () => post(collector, sessions(['unknown-0'])),
        (r) => r.status === 200,
        15_000
      );
      expect(decided.json['partialSuccess']).toMatchObject({ rejectedDataPoints: '1' });
      expect(collector.output.filter((line) => line.includes('dashboard inventory listed again'))).toHaveLength(1);
    }
  );

  it('keeps the last listing across a restart while Grafana is down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'footfall-inventory-state-'));
    scratch.push(dir);
    const stateFile = join(dir, 'state.json');
    const first = await launch({}, stateFile);
    await listed(first, DASHBOARDS);
    expect(await first.stop()).toBe(0);

    grafana.setMode('down');
    const second = await launch({}, stateFile);
    const samples = await listed(second, DASHBOARDS);
    expect(infoSeries(samples).get('dash-11')).toMatchObject({
      dashboard_name: 'Dashboard 11',
      dashboard_folder: 'Team 11',
    });
    const answer = await post(second, sessions(['dash-11']));
    expect(answer.status).toBe(200);
    expect(answer.json['partialSuccess']).toBeUndefined();
  });

  it('refuses a configuration with a token but no Grafana URL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'footfall-inventory-config-'));
    scratch.push(dir);
    const configFile = join(dir, 'collector.yaml');
    writeFileSync(configFile, JSON.stringify({ inventory: { intervalSeconds: 60 } }));
    await expect(spawnCollector(['--config', configFile], { FOOTFALL_INVENTORY_TOKEN: TOKEN })).rejects.toThrow(
      /inventory\.grafanaUrl/
    );
  });
});
