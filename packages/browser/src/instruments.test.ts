/**
 * The panel and the collector agree: what the panel puts on the wire is what the collector's catalog
 * declares (kind, temporality, unit, buckets, attributes), and a whole recorded session is accepted by
 * a real collector without a point refused or an attribute dropped.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { EchoEventType, getEchoSrv, locationService, registerEchoBackend } from '@grafana/runtime';
import { METRIC_CATALOG as COLLECTOR_CATALOG, LEGACY_LABELS, readAttributes } from '@footfall/collector';
import { scrape, sumOf } from '../../../test/support/exposition.ts';
import { startCollector } from './testing/collector.ts';
import { installDeliveringEchoSrv } from './testing/echo.ts';
import { resetGrafana } from './testing/grafana.ts';
import { createTestPage, useFakeClock } from './testing/page.ts';
import { createRecordingFetch } from './testing/recording-fetch.ts';
import { resolveOptions } from './settings.ts';
import { capText, MAX_VALUE_LENGTH } from './cap-text.ts';
import { createPanelMeter } from './meter.ts';
import { ATTR, METRIC } from './names.ts';
import { createPageTracker, type PageTracker } from './tracker.ts';

/** An attribute set with every key the panel ever records, so the catalog's filter is what limits it. */
const EVERY_ATTRIBUTE = Object.fromEntries(Object.values(ATTR).map((k) => [k, `v-${k}`]));

beforeEach(() => {
  useFakeClock();
  window.sessionStorage.clear();
  resetGrafana();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("the panel records the collector's catalog", () => {
  test("every metric, with the catalog's kind, DELTA temporality, unit, buckets and only its attributes", async () => {
    const net = createRecordingFetch();
    const meter = createPanelMeter({
      endpoint: '/footfall/v1/metrics',
      exportIntervalMs: 60_000,
      resource: { 'service.name': 'grafana-footfall-panel' },
      version: '1.2.3',
      storage: undefined,
      fetch: net.fetch,
      now: () => Date.now(),
    });
    const metrics = Object.values(METRIC);
    for (const name of metrics) {
      meter.recorder.record(name, 2, EVERY_ATTRIBUTE);
    }
    meter.flush(false);
    await net.idle();
    await meter.shutdown();
    const points = net.delivered();

    expect(new Set(points.map((p) => p.metric))).toEqual(new Set(metrics));
    for (const name of metrics) {
      const entry = COLLECTOR_CATALOG.find((m) => m.name === name);
      expect(entry, `${name} is in the collector's catalog`).toBeDefined();
      const wire = points.filter((p) => p.metric === name);
      expect(wire, name).toHaveLength(1);
      const point = wire[0]!;
      expect(point.unit, name).toBe(entry!.unit);
      expect(point.temporality, name).toBe(1); // DELTA
      if (entry!.kind === 'counter') {
        expect(point.type, name).toBe('sum');
        expect(point.monotonic, name).toBe(true);
        expect(point.value, name).toBe(2);
      } else {
        expect(entry!.kind, name).toBe('histogram');
        expect(point.type, name).toBe('histogram');
        expect(point.histogram!.explicitBounds, name).toEqual(entry!.buckets);
        expect(point.histogram!.count, name).toBe(1);
      }
      // The attributes any of the metric's series reads (its own, legacy, derived), and nothing else.
      expect(new Set(Object.keys(point.attributes)), name).toEqual(
        new Set(readAttributes(entry!).filter((a) => a in EVERY_ATTRIBUTE))
      );
    }
  });

  test('nothing negative, infinite or NaN reaches the wire', async () => {
    const net = createRecordingFetch();
    const meter = createPanelMeter({
      endpoint: '/x',
      exportIntervalMs: 60_000,
      resource: {},
      version: '1',
      storage: undefined,
      fetch: net.fetch,
      now: () => Date.now(),
    });
    meter.recorder.record(METRIC.SESSIONS, -1, { [ATTR.DASHBOARD_UID]: 'a' });
    meter.recorder.record(METRIC.ENGAGED_TIME, Number.NaN, { [ATTR.DASHBOARD_UID]: 'a' });
    meter.recorder.record(METRIC.QUERY_DURATION, Number.POSITIVE_INFINITY, { [ATTR.DASHBOARD_UID]: 'a' });
    meter.recorder.record(METRIC.SESSIONS, 1, { [ATTR.DASHBOARD_UID]: 'a', [ATTR.DASHBOARD_NAME]: '' });
    meter.flush(false);
    await net.idle();
    await meter.shutdown();
    const points = net.delivered();
    expect(points.map((p) => [p.metric, p.value, p.attributes])).toEqual([
      [METRIC.SESSIONS, 1, { [ATTR.DASHBOARD_UID]: 'a' }],
    ]);
  });
});

describe('recorded strings are capped before they are sent', () => {
  test('every string attribute and resource attribute, at MAX_VALUE_LENGTH, under the collector limit of 256', async () => {
    const net = createRecordingFetch();
    const long = (prefix: string) => `${prefix}${'😀'.repeat(200)}`;
    const meter = createPanelMeter({
      endpoint: '/x',
      exportIntervalMs: 60_000,
      resource: { 'service.name': 'grafana-footfall-panel', [ATTR.GRAFANA_HOST]: long('host-') },
      version: '1',
      storage: undefined,
      fetch: net.fetch,
      now: () => Date.now(),
    });
    meter.recorder.record(METRIC.VARIABLE_SELECTIONS, 1, {
      [ATTR.DASHBOARD_UID]: 'a',
      [ATTR.DASHBOARD_NAME]: long('A dashboard title '),
      [ATTR.VARIABLE_NAME]: long('name-'),
      [ATTR.VARIABLE_VALUE]: long('value-'),
    });
    meter.flush(false);
    await net.idle();
    await meter.shutdown();
    const [point] = net.delivered();
    expect(point).toBeDefined();
    for (const value of [...Object.values(point!.attributes), ...Object.values(point!.resource)]) {
      expect(typeof value === 'string' && value.length <= MAX_VALUE_LENGTH).toBe(true);
      expect((value as string).endsWith('\uFFFD')).toBe(false); // no half of a pair, sent as U+FFFD
    }
    expect(point!.attributes[ATTR.VARIABLE_VALUE]).toBe(capText(long('value-'), MAX_VALUE_LENGTH));
    expect(point!.resource[ATTR.GRAFANA_HOST]).toBe(capText(long('host-'), MAX_VALUE_LENGTH));
  });
});

describe('a whole session against a real collector', () => {
  let tracker: PageTracker | undefined;
  afterEach(async () => {
    await tracker?.dispose();
    tracker = undefined;
  });

  test('is accepted whole: no point refused, no attribute dropped, every point counted', async () => {
    // Every label the old server had, so the panel's dashboard time zone is kept rather than dropped.
    const collector = await startCollector({ legacy: { labels: [...LEGACY_LABELS] } });
    try {
      installDeliveringEchoSrv();
      locationService.push('/d/agree-1/orders?orgId=1&var-region=eu&var-host=web-1&var-host=web-2&from=now-6h&to=now');
      const net = createRecordingFetch(globalThis.fetch);
      const page = createTestPage(net.fetch);
      const t = createPageTracker(page.platform, '1.2.3');
      tracker = t;
      registerEchoBackend({
        supportedEvents: [EchoEventType.MetaAnalytics],
        options: {},
        flush: () => undefined,
        addEvent: (e) => t.onEchoEvent(e),
      });
      const options = resolveOptions({ endpoint: `${collector.url}/v1/metrics`, heartbeatIntervalSeconds: 30 });
      t.attach(
        {},
        {
          dashboardUid: 'agree-1',
          dashboardTitle: 'Orders',
          timeZone: 'utc',
          timeFrom: 'now-6h',
          timeTo: 'now',
          options,
        }
      );

      const request = (payload: Record<string, unknown>) =>
        getEchoSrv().addEvent({
          type: EchoEventType.MetaAnalytics,
          payload: { eventName: 'data-request', dashboardUid: 'agree-1', dashboardName: 'Orders', ...payload },
        });
      request({ datasourceType: 'prometheus', duration: 230 });
      request({ datasourceType: 'loki', duration: 4100, error: 'timeout' });
      await vi.advanceTimersByTimeAsync(45_000);
      locationService.partial({ 'var-region': 'us', from: 'now-24h', to: 'now' });
      page.blur();
      await vi.advanceTimersByTimeAsync(40_000);
      page.hide();
      await vi.advanceTimersByTimeAsync(20_000);
      page.show();
      page.focus();
      await vi.advanceTimersByTimeAsync(15_000);
      locationService.push('/explore');
      await net.idle();

      const wire = net.delivered();
      expect(wire.length).toBeGreaterThan(10);
      const { samples } = await scrape(collector.url);
      expect(sumOf(samples, 'footfall_collector_points_refused_total')).toBe(0);
      expect(sumOf(samples, 'footfall_collector_attributes_dropped_total')).toBe(0);
      expect(sumOf(samples, 'footfall_collector_points_accepted_total')).toBe(wire.length);
      expect(
        sumOf(samples, 'grafana_analytics_sessions_total', {
          dashboard_uid: 'agree-1',
          dashboard_timezone: 'utc',
          user_role: 'Editor',
        })
      ).toBe(1);
      expect(sumOf(samples, 'footfall_dashboard_session_duration_seconds_sum', { dashboard_uid: 'agree-1' })).toBe(120);
    } finally {
      await collector.close();
    }
  });
});
