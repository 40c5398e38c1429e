/**
 * Idle series expire: a dashboard nobody opened for limits.seriesIdleExpiry leaves /metrics and the
 * state file and frees its place under the cap, so a cap once filled does not stay full forever; the
 * series still in use keep counting exactly. Through HTTP, on the collector's own sweep schedule.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type RunningCollector } from './support/collector.ts';
import { scrape, sumOf, type Sample } from './support/exposition.ts';
import { pollUntil } from './support/prometheus.ts';
import { attrs, deltaSum, exportRequest, PANEL_RESOURCE } from './support/otlp.ts';
import { postJson, rejectedPoints } from './support/requests.ts';

async function open(url: string, uid: string, sessions: number): Promise<void> {
  const res = await postJson(
    url,
    exportRequest(
      [
        deltaSum('grafana.dashboard.sessions', [
          {
            value: sessions,
            attributes: attrs([
              ['dashboard.uid', uid],
              ['user.role', 'Viewer'],
            ]),
          },
        ]),
      ],
      PANEL_RESOURCE
    )
  );
  expect(res.status).toBe(200);
  expect(rejectedPoints(res)).toBe(0);
}

const uids = (samples: readonly Sample[], family: string) =>
  samples
    .filter((s) => s.name === family)
    .map((s) => s.labels.dashboard_uid ?? (s.labels.otel_metric_overflow ? 'overflow' : ''))
    .sort();

describe('idle series expiry (limits.seriesIdleExpiry: 2s, maxSeriesPerMetric: 2)', () => {
  let collector: RunningCollector;
  const stateFile = join(mkdtempSync(join(tmpdir(), 'footfall-expiry-')), 'state.json');

  beforeAll(async () => {
    collector = await startCollector({
      limits: { seriesIdleExpiry: '2s', maxSeriesPerMetric: 2 },
      state: { file: stateFile },
    });
  });
  afterAll(() => collector?.close());

  it('drops the idle dashboard, keeps the used one exact, and gives the freed place to a new dashboard', async () => {
    await open(collector.url, 'idle', 1);
    await open(collector.url, 'busy', 2);
    await open(collector.url, 'late', 4); // the cap is full: overflow
    expect(uids((await scrape(collector.url)).samples, 'grafana_analytics_sessions_total')).toEqual([
      'busy',
      'idle',
      'overflow',
    ]);

    // "busy" keeps being opened; "idle" and the overflow series are not.
    const started = Date.now();
    while (Date.now() - started < 2600) {
      await open(collector.url, 'busy', 1);
      await new Promise((r) => setTimeout(r, 400));
    }
    const after = await pollUntil(
      async () => (await scrape(collector.url)).samples,
      (samples) => !uids(samples, 'grafana_analytics_sessions_total').includes('idle'),
      5_000,
      200
    );
    expect(uids(after, 'grafana_analytics_sessions_total')).toEqual(['busy']);
    // The per-instance series counts every session, the expired dashboards' too: it was never idle.
    expect(sumOf(after, 'footfall_sessions_by_preferences_total')).toBe(
      sumOf(after, 'grafana_analytics_sessions_total') + 1 + 4
    );
    expect(sumOf(after, 'footfall_collector_series_expired_total')).toBeGreaterThanOrEqual(2);
    const busy = sumOf(after, 'grafana_analytics_sessions_total', { dashboard_uid: 'busy' });
    expect(busy).toBeGreaterThanOrEqual(2 + 5);

    await open(collector.url, 'new', 3);
    const now = (await scrape(collector.url)).samples;
    expect(uids(now, 'grafana_analytics_sessions_total')).toEqual(['busy', 'new']);
    expect(sumOf(now, 'grafana_analytics_sessions_total', { dashboard_uid: 'busy' })).toBe(busy);

    await collector.collector.saveState();
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as {
      counters: Array<{ name: string; labels: Record<string, string> }>;
    };
    expect(
      saved.counters
        .filter((c) => c.name === 'grafana_analytics_sessions_total')
        .map((c) => c.labels.dashboard_uid)
        .sort()
    ).toEqual(['busy', 'new']);
  });
});
