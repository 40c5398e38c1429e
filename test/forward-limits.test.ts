/**
 * Forwarding more than one request holds: collector A forwards 1,200 catalog series (DELTA) to
 * collector B, both on their default limits (B refuses points past 1,000 in a request and bodies over
 * 64 KiB once decompressed). Everything must arrive, and B must refuse nothing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCollector, type CollectorProcess } from './support/collector.ts';
import { catalogSeries, scrape, sumOf } from './support/exposition.ts';
import { attrs, deltaHistogram, deltaSum, exportRequest, PANEL_RESOURCE } from './support/otlp.ts';
import { postJson, rejectedPoints } from './support/requests.ts';

const DASHBOARDS = 400;
/** Long names (under limits.maxValueLength) make the bytes limit bite as well as the points limit. */
const dashboard = (i: number) =>
  [
    ['dashboard.uid', `uid-${String(i).padStart(4, '0')}`],
    ['dashboard.name', `${'Capacity planning and service health overview '.repeat(4)}#${i}`],
    ['grafana.host', 'grafana.example.com'],
    ['user.role', 'Viewer'],
  ] as const;

/** Three series per dashboard: its sessions, its focused time and its session lengths (a histogram). */
function workload(from: number, to: number) {
  const ids = Array.from({ length: to - from }, (_, k) => from + k);
  return exportRequest(
    [
      deltaSum(
        'grafana.dashboard.sessions',
        ids.map((i) => ({ value: 1 + (i % 3), attributes: attrs(dashboard(i)) }))
      ),
      deltaSum(
        'grafana.dashboard.engaged_time',
        ids.map((i) => ({ value: 30.5, attributes: attrs([...dashboard(i), ['engagement.state', 'focused']]) }))
      ),
      deltaHistogram(
        'grafana.dashboard.session.duration',
        ids.map((i) => ({ observations: [12, 45 + i], attributes: attrs(dashboard(i)) }))
      ),
    ],
    PANEL_RESOURCE
  );
}

describe('forwarding 1,200 series to a footfall collector with default limits', () => {
  let a: CollectorProcess;
  let b: CollectorProcess;

  beforeAll(async () => {
    b = await spawnCollector();
    const config = join(mkdtempSync(join(tmpdir(), 'footfall-forward-limits-')), 'collector.yaml');
    // An interval longer than the test: the flush at shutdown sends all 1,200 series as one collection.
    writeFileSync(
      config,
      JSON.stringify({ forward: { endpoint: `${b.url}/v1/metrics`, temporality: 'delta', intervalSeconds: 3600 } })
    );
    a = await spawnCollector(['--config', config]);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('arrive complete: B has every series A has, and refused nothing', async () => {
    for (let from = 0; from < DASHBOARDS; from += 20) {
      expect(rejectedPoints(await postJson(a.url, workload(from, from + 20)))).toBe(0);
    }
    const own = (await scrape(a.url)).samples;
    const perFamily = [
      'grafana_analytics_sessions_total',
      'footfall_dashboard_engaged_seconds_total',
      'footfall_dashboard_session_duration_seconds_count',
    ];
    expect(perFamily.map((name) => own.filter((s) => s.name === name).length)).toEqual([
      DASHBOARDS,
      DASHBOARDS,
      DASHBOARDS,
    ]);
    const expected = catalogSeries(own);

    expect(await a.stop()).toBe(0);
    const got = catalogSeries((await scrape(b.url)).samples);
    const differences = Object.keys({ ...expected, ...got }).filter((k) => expected[k] !== got[k]);
    expect(differences.length, `${differences.length} series differ, e.g.\n${differences.slice(0, 5).join('\n')}`).toBe(
      0
    );

    const upstream = (await scrape(b.url)).samples;
    expect(sumOf(upstream, 'footfall_collector_points_refused_total'), 'B refused nothing').toBe(0);
    expect(sumOf(upstream, 'footfall_collector_requests_total', { reason: 'payload_too_large' })).toBe(0);
    // Split: more than one request reached B (1,200 points, some 400 KiB), and A logged no forwarding trouble.
    expect(
      sumOf(upstream, 'footfall_collector_requests_total', { reason: 'ok', encoding: 'protobuf' })
    ).toBeGreaterThan(2);
    expect(a.output.filter((line) => line.includes('"component":"forward"'))).toEqual([]);
  }, 60_000);
});
