/**
 * One signed-in user cannot take the series budget from everyone else. Mallory, signed in to Grafana,
 * invents 2,500 dashboards, each with 20 variable values: 50,000 new variable-selection series, enough
 * to fill the default cap of one metric, and before this budget existed, everyone's new dashboards
 * then went to the overflow series for good. Alice, another signed-in user, then opens a new
 * dashboard: it must get its own series. The collector runs its default limits, Grafana-session auth
 * against the Grafana stand-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type RunningCollector } from './support/collector.ts';
import { scrape, sumOf, type Sample } from './support/exposition.ts';
import { startGrafanaStandIn, type GrafanaStandIn } from './support/grafana-stand-in.ts';
import { attrs, deltaSum, exportRequest, PANEL_RESOURCE, type JsonMetric } from './support/otlp.ts';

const MALLORY = { id: 66, login: 'mallory', name: 'Mallory', email: 'mallory@example.com', orgId: 1 };
const ALICE = { id: 7, login: 'alice', name: 'Alice', email: 'alice@example.com', orgId: 1 };
const INVENTED = 2500;
const VALUES = 20;
/** Points per request: well within the default 1,000 points and 64 KiB. */
const PER_REQUEST = 200;

async function post(
  url: string,
  cookie: string,
  metrics: readonly JsonMetric[]
): Promise<{ status: number; rejected: number }> {
  const res = await fetch(`${url}/v1/metrics`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Cookie: `grafana_session=${cookie}` },
    body: JSON.stringify(exportRequest(metrics, PANEL_RESOURCE)),
  });
  const body = (await res.json()) as { partialSuccess?: { rejectedDataPoints?: string } };
  return { status: res.status, rejected: Number(body.partialSuccess?.rejectedDataPoints ?? 0) };
}

/** Mallory's flood: every invented dashboard with a session and 20 variable values. */
async function flood(url: string): Promise<{ sent: number; rejected: number }> {
  let sent = 0;
  let rejected = 0;
  let batch: Array<{ value: number; attributes: ReturnType<typeof attrs> }> = [];
  const send = async () => {
    const answer = await post(url, 'mallory-cookie', [deltaSum('grafana.dashboard.variable.selections', batch)]);
    expect(answer.status).toBe(200);
    sent += batch.length;
    rejected += answer.rejected;
    batch = [];
  };
  for (let d = 0; d < INVENTED; d++) {
    for (let v = 0; v < VALUES; v++) {
      batch.push({
        value: 1,
        attributes: attrs([
          ['dashboard.uid', `fake-${d}`],
          ['variable.name', 'x'],
          ['variable.value', `v${v}`],
        ]),
      });
      if (batch.length === PER_REQUEST) {
        await send();
      }
    }
  }
  if (batch.length > 0) {
    await send();
  }
  return { sent, rejected };
}

/** Alice opens a dashboard nobody opened before. */
async function aliceOpens(url: string): Promise<{ status: number; rejected: number }> {
  const at = [
    ['dashboard.uid', 'alice-new'],
    ['dashboard.name', 'Capacity'],
  ] as const;
  return post(url, 'alice-cookie', [
    deltaSum('grafana.dashboard.sessions', [{ value: 1, attributes: attrs(at) }]),
    deltaSum('grafana.dashboard.variable.selections', [
      { value: 1, attributes: attrs([...at, ['variable.name', 'cluster'], ['variable.value', 'eu-1']]) },
    ]),
  ]);
}

const VARIABLES = 'footfall_dashboard_variable_selections_total';

describe.each([
  ['the default budget', undefined, true],
  // The control: with a budget no user meets, the same flood fills the cap and Alice's series fold.
  ['no per-user budget (control)', 10_000_000, false],
] as const)('a signed-in user inventing 2,500 dashboards, with %s', (_, perHour, aliceGetsHerOwn) => {
  let grafana: GrafanaStandIn;
  let collector: RunningCollector;
  let samples: Sample[];
  let floodResult: { sent: number; rejected: number };
  let alice: { status: number; rejected: number };

  beforeAll(async () => {
    grafana = await startGrafanaStandIn();
    grafana.tokens.set('mallory-cookie', { user: MALLORY });
    grafana.tokens.set('alice-cookie', { user: ALICE });
    collector = await startCollector({
      auth: { grafana: { url: grafana.url } },
      ...(perHour === undefined ? {} : { limits: { newSeriesPerUserPerHour: perHour } }),
    });
    floodResult = await flood(collector.url);
    alice = await aliceOpens(collector.url);
    samples = (await scrape(collector.url)).samples;
  }, 120_000);

  afterAll(async () => {
    await collector?.close();
    await grafana?.close();
  });

  it(`${aliceGetsHerOwn ? 'gives' : 'cannot give'} Alice's new dashboard its own series`, () => {
    expect(alice).toEqual({ status: 200, rejected: 0 });
    const own = { dashboard_uid: 'alice-new', variable_name: 'cluster', variable_value: 'eu-1' };
    expect(sumOf(samples, VARIABLES, own)).toBe(aliceGetsHerOwn ? 1 : 0);
    expect(sumOf(samples, 'grafana_analytics_sessions_total', { dashboard_uid: 'alice-new' })).toBe(1);
    expect(sumOf(samples, VARIABLES, { otel_metric_overflow: 'true' }) > 0).toBe(!aliceGetsHerOwn);
  });

  it(
    aliceGetsHerOwn
      ? "refuses Mallory's points past her budget, counted and reported to her"
      : 'takes all of the flood',
    () => {
      expect(floodResult.sent).toBe(INVENTED * VALUES);
      if (!aliceGetsHerOwn) {
        expect(floodResult.rejected).toBe(0);
        return;
      }
      // 5,000 new series an hour, plus the trickle the bucket refills while the flood runs.
      expect(floodResult.rejected).toBeGreaterThan(INVENTED * VALUES - 5_100);
      expect(sumOf(samples, 'footfall_collector_points_refused_total', { reason: 'series_budget' })).toBe(
        floodResult.rejected
      );
      expect(samples.filter((s) => s.name === VARIABLES).length).toBeLessThan(5_100);
    }
  );
});
