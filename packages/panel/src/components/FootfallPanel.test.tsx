/**
 * The panel as Grafana mounts it: `plugin.panel` from module.ts rendered with PanelProps built from
 * the real @grafana/data types, on the page's own hub and the tracker it loads (jsdom's window, fetch
 * and sessionStorage) and a real collector on loopback.
 */
import { act, cleanup, render, screen } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { dateTime, EventBusSrv, LoadingState, type PanelProps, type TimeRange } from '@grafana/data';
import { EchoEventType, getEchoSrv, locationService } from '@grafana/runtime';
import { scrape, sumOf } from '../../../../test/support/exposition.ts';
import { plugin } from '../module.ts';
import { panelHub } from '../hub.ts';
import { startCollector, type RunningCollector } from '@footfall/browser/testing/collector.ts';
import { installDeliveringEchoSrv } from '@footfall/browser/testing/echo.ts';
import { resetGrafana, scenesReplaceVariables } from '@footfall/browser/testing/grafana.ts';
import { createRecordingFetch, type RecordingFetch } from '@footfall/browser/testing/recording-fetch.ts';
import { useFakeClock } from '@footfall/browser/testing/page.ts';
import type { FootfallOptions } from '@footfall/browser/settings.ts';

type Props = PanelProps<Partial<FootfallOptions>>;

const Panel = plugin.panel!;
const DASHBOARD = { uid: 'abc123', title: 'Sales overview' };
let collector: RunningCollector;
let net: RecordingFetch;
let pageFetch: typeof fetch;

function timeRange(from: string, to: string, hours: number): TimeRange {
  const end = dateTime(Date.now());
  return { from: dateTime(Date.now() - hours * 3_600_000), to: end, raw: { from, to } };
}

/** PanelProps as Grafana hands them to a panel with no queries (skipDataQuery). */
function panelProps(options: Partial<FootfallOptions> | null, dashboard = DASHBOARD): Props {
  const range = timeRange('now-6h', 'now', 6);
  return {
    id: 1,
    data: { state: LoadingState.Done, series: [], timeRange: range },
    timeRange: range,
    timeZone: 'browser',
    options: options as Partial<FootfallOptions>,
    transparent: true,
    width: 1280,
    height: 30,
    fieldConfig: { defaults: {}, overrides: [] },
    renderCounter: 1,
    title: '',
    eventBus: new EventBusSrv(),
    onOptionsChange: () => undefined,
    onFieldConfigChange: () => undefined,
    replaceVariables: scenesReplaceVariables(dashboard),
    onChangeTimeRange: () => undefined,
  };
}

/** The page's tracker, once the hub has loaded it (the model chunk in Grafana; model-entry.ts here). */
async function tracker() {
  let loaded: Awaited<ReturnType<ReturnType<typeof panelHub>['ready']>>;
  await act(async () => {
    loaded = await panelHub().ready();
  });
  return loaded!;
}

beforeAll(async () => {
  // Grafana sets its Echo service up before any plugin loads.
  installDeliveringEchoSrv();
  collector = await startCollector();
  // The page's own fetch, watched: the tracker takes window.fetch when it loads.
  pageFetch = window.fetch;
  net = createRecordingFetch(pageFetch.bind(window));
  window.fetch = net.fetch;
});

afterAll(async () => {
  window.fetch = pageFetch;
  await collector.close();
});

beforeEach(() => {
  useFakeClock();
  resetGrafana();
  locationService.push(`/d/${DASHBOARD.uid}/sales-overview?orgId=1&from=now-6h&to=now`);
});

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe('FootfallPanel', () => {
  test('renders nothing by default, and its page starts a session for the dashboard', async () => {
    const { container } = render(<Panel {...panelProps({})} />);
    expect(container.innerHTML).toBe('');
    const t = await tracker();
    expect(t.debugInfo()).toMatchObject({ dashboardUid: DASHBOARD.uid, skipped: undefined, host: 'panel' });
    expect(t.debugInfo().sessionId).toMatch(/^[0-9a-f]{16}$/);
  });

  test('with debug on, shows a block with the session id', async () => {
    render(<Panel {...panelProps({ debug: true })} />);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1000);
    });
    const block = screen.getByTestId('footfall-debug');
    const id = (await tracker()).debugInfo().sessionId!;
    expect(id).toBeDefined();
    expect(block.textContent).toContain(`session: ${id}`);
    expect(block.textContent).toContain(`dashboard: ${DASHBOARD.uid}`);
  });

  test('garbage props do not throw', () => {
    const garbage: Array<Partial<Record<keyof Props, unknown>>> = [
      { options: null },
      { options: { heartbeatIntervalSeconds: 'often', endpoint: 42, debug: 'yes' } as unknown },
      {
        replaceVariables: () => {
          throw new Error('interpolation failed');
        },
      },
      { timeRange: undefined, data: undefined },
      { replaceVariables: undefined, timeZone: undefined },
    ];
    for (const override of garbage) {
      const props = { ...panelProps({}), ...override } as Props;
      expect(() => render(<Panel {...props} />)).not.toThrow();
      cleanup();
    }
  });

  test("a session and the dashboard's queries reach the collector", async () => {
    locationService.push('/d/e2e-dash/checkout?orgId=1&var-env=prod&from=now-24h&to=now');
    const dashboard = { uid: 'e2e-dash', title: 'Checkout' };
    const options = { endpoint: `${collector.url}/v1/metrics` };
    render(<Panel {...panelProps(options, dashboard)} />);
    getEchoSrv().addEvent({
      type: EchoEventType.MetaAnalytics,
      payload: {
        eventName: 'data-request',
        datasourceType: 'prometheus',
        dashboardUid: dashboard.uid,
        dashboardName: dashboard.title,
        duration: 1500,
      },
    });
    await act(async () => {
      await vi.advanceTimersByTimeAsync(30_000);
    });
    window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false }));
    await net.idle();
    expect(net.exchanges.filter((e) => e.url === options.endpoint).every((e) => e.keepalive === true)).toBe(true);

    const { samples } = await scrape(collector.url);
    const mine = { dashboard_uid: dashboard.uid };
    expect(
      sumOf(samples, 'grafana_analytics_sessions_total', {
        ...mine,
        dashboard_name: dashboard.title,
        user_role: 'Editor',
      })
    ).toBe(1);
    expect(sumOf(samples, 'footfall_dashboard_queries_total', { ...mine, datasource_type: 'prometheus' })).toBe(1);
    expect(sumOf(samples, 'footfall_dashboard_query_duration_seconds_sum', mine)).toBe(1.5);
    expect(sumOf(samples, 'footfall_dashboard_engaged_seconds_total', { ...mine, engagement_state: 'focused' })).toBe(
      30
    );
    expect(
      sumOf(samples, 'footfall_dashboard_variable_selections_total', {
        ...mine,
        variable_name: 'env',
        variable_value: 'prod',
      })
    ).toBe(1);
  });
});
