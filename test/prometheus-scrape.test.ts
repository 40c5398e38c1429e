import { isDeepStrictEqual } from 'node:util';
import type { Attributes } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowser, type SimulatedBrowser } from './support/browsers.ts';
import { spawnCollector, type CollectorProcess } from './support/collector.ts';
import { pollUntil, startPrometheus, type InstantResult, type PrometheusServer } from './support/prometheus.ts';

/**
 * The whole path as it runs in production: browsers (the OTel JS SDK with its OTLP/HTTP exporters,
 * JSON and protobuf) → the built collector (`node dist/main.js`) → a real Prometheus 2.42 scraping
 * /metrics every second → PromQL over its HTTP API.
 */

const JOB = 'footfall';
/** A dashboard title with everything the text format has to escape, plus non-ASCII. */
const ALPHA_NAME = 'Alpha "ops" \\ C:\\temp\nsecond line – Ünïcødé 📈';
const ALPHA = { 'dashboard.uid': 'd-alpha', 'dashboard.name': ALPHA_NAME, 'dashboard.timezone': 'utc' };
const BETA = { 'dashboard.uid': 'd-beta', 'dashboard.name': 'Beta', 'dashboard.timezone': 'browser' };

/** What the browsers below send, per dashboard: the numbers every assertion compares with. */
const SENT = {
  sessions: { 'd-alpha': 3 + 2, 'd-beta': 4 + 1 },
  engaged: {
    'd-alpha': { focused: 12.5 + 1.25, visible: 30, hidden: 100 },
    'd-beta': { focused: 7, visible: 0.5, hidden: 40.25 },
  },
} as const;

function user(role: string, login: string): Attributes {
  return {
    'user.role': role,
    'user.theme': 'dark',
    'user.timezone': 'Europe/Berlin',
    'user.locale': 'de-DE',
    // Personal: the default privacy policy must keep these out of Prometheus.
    'user.login': login,
    'user.name': `${login} Doe`,
  };
}

async function sendWorkload(collectorUrl: string): Promise<void> {
  const grafana = { 'grafana.host': 'grafana.example.com', 'grafana.env': 'prod' };
  const browsers: SimulatedBrowser[] = [
    createBrowser({ url: collectorUrl, protocol: 'json', resource: grafana }),
    createBrowser({ url: collectorUrl, protocol: 'protobuf', resource: grafana }),
    createBrowser({ url: collectorUrl, protocol: 'json', resource: grafana }),
  ];
  try {
    const [a, b, c] = browsers;
    // Browser A (JSON): three sessions on Alpha, time in all three states.
    for (let i = 0; i < 3; i++) {
      a!.sessions.add(1, { ...ALPHA, ...user('Viewer', 'alice') });
    }
    a!.engagedTime.add(12.5, { ...ALPHA, ...user('Viewer', 'alice'), 'engagement.state': 'focused' });
    a!.engagedTime.add(30, { ...ALPHA, ...user('Viewer', 'alice'), 'engagement.state': 'visible' });
    a!.engagedTime.add(100, { ...ALPHA, ...user('Viewer', 'alice'), 'engagement.state': 'hidden' });
    a!.sessionDuration.record(142.5, { ...ALPHA, 'user.role': 'Viewer' });
    // Browser B (protobuf): two sessions on Alpha, four on Beta.
    b!.sessions.add(2, { ...ALPHA, ...user('Editor', 'bob') });
    b!.sessions.add(4, { ...BETA, ...user('Editor', 'bob') });
    b!.engagedTime.add(7, { ...BETA, ...user('Editor', 'bob'), 'engagement.state': 'focused' });
    b!.engagedTime.add(0.5, { ...BETA, ...user('Editor', 'bob'), 'engagement.state': 'visible' });
    b!.engagedTime.add(40.25, { ...BETA, ...user('Editor', 'bob'), 'engagement.state': 'hidden' });
    // Browser C (JSON): one session on Beta, a little focused time on Alpha.
    c!.sessions.add(1, { ...BETA, ...user('Admin', 'carol') });
    c!.engagedTime.add(1.25, { ...ALPHA, ...user('Admin', 'carol'), 'engagement.state': 'focused' });

    // Edge cases a panel really produces. An unsaved dashboard has an empty title; another browser
    // on the same dashboard does not send the attribute at all. Two sessions either way.
    c!.sessions.add(1, { 'dashboard.uid': 'd-untitled', 'dashboard.name': '' });
    a!.sessions.add(1, { 'dashboard.uid': 'd-untitled' });
    // Titles cut to a fixed length in UTF-16 code units can end in half an emoji (a lone surrogate):
    // "Revenue 📈" and "Revenue 🤑" cut after 9 units. Two sessions on one dashboard uid.
    a!.sessions.add(1, { 'dashboard.uid': 'd-cut', 'dashboard.name': 'Revenue 📈'.slice(0, 9) });
    a!.sessions.add(1, { 'dashboard.uid': 'd-cut', 'dashboard.name': 'Revenue 🤑'.slice(0, 9) });

    await Promise.all(browsers.map((x) => x.flush()));
  } finally {
    await Promise.all(browsers.map((x) => x.shutdown()));
  }
}

describe('Prometheus scraping the built collector', () => {
  let collector: CollectorProcess | undefined;
  let prometheus: PrometheusServer | undefined;

  beforeAll(async () => {
    collector = await spawnCollector();
    prometheus = await startPrometheus({ job: JOB, targets: [new URL(collector.url).host] });
    await sendWorkload(collector.url);
    // Once a scrape shows the collector handled the three exports, every later query sees all the
    // data. Prometheus needs ~6 s to discover the target and scrape it; the tests report the values.
    await pollUntil(
      () => scalar(`sum(footfall_collector_requests_total{job="${JOB}"})`),
      (v) => v >= 3
    );
  });

  afterAll(async () => {
    await prometheus?.stop();
    await collector?.stop();
  });

  /** A scalar PromQL result (sum, count ...), NaN when the vector is empty. */
  async function scalar(expr: string): Promise<number> {
    const result = await prometheus!.query(expr);
    return result.length === 0 ? NaN : result[0]!.value;
  }

  /**
   * Polls `expr` briefly until it equals `expected`: beforeAll already waited for a scrape holding all
   * the data, so this only covers a scrape that was in flight; it returns the last value either way.
   */
  async function eventually(expr: string, expected: number): Promise<number> {
    return pollUntil(
      () => scalar(expr),
      (v) => v === expected,
      3_000
    );
  }

  async function targetReport(): Promise<string> {
    const targets = await prometheus!.targets();
    return JSON.stringify(targets.map((t) => ({ url: t.scrapeUrl, health: t.health, lastError: t.lastError })));
  }

  it('scrapes the collector: up == 1 and the target is healthy', async () => {
    const up = await eventually(`up{job="${JOB}"}`, 1);
    expect(up, `up{job="${JOB}"}; targets: ${await targetReport()}`).toBe(1);
    const targets = await prometheus!.targets();
    const ours = targets.filter((t) => t.scrapePool === JOB);
    expect(ours, await targetReport()).toHaveLength(1);
    expect(ours[0]!.health, `target ${ours[0]!.scrapeUrl} lastError: ${ours[0]!.lastError}`).toBe('up');
    expect(ours[0]!.lastError).toBe('');
    // Both OTLP encodings reached the collector (two JSON browsers, one protobuf).
    const byEncoding = await prometheus!.query(
      `sum by (encoding) (footfall_collector_requests_total{job="${JOB}",code="200"})`
    );
    expect(Object.fromEntries(byEncoding.map((r) => [r.metric.encoding, r.value]))).toEqual({ json: 2, protobuf: 1 });
  });

  it('counts exactly the sessions the browsers sent, per dashboard', async () => {
    for (const [uid, sent] of Object.entries(SENT.sessions)) {
      const expr = `sum(grafana_analytics_sessions_total{job="${JOB}",dashboard_uid="${uid}"})`;
      expect(await eventually(expr, sent), `${expr}; targets: ${await targetReport()}`).toBe(sent);
    }
    // Per browser/user too: the role label keeps the senders apart.
    const byRole = await prometheus!.query(
      `sum by (user_role) (grafana_analytics_sessions_total{job="${JOB}",dashboard_uid="d-alpha"})`
    );
    expect(Object.fromEntries(byRole.map((r) => [r.metric.user_role, r.value]))).toEqual({ Viewer: 3, Editor: 2 });
  });

  it('keeps the legacy duration series: focused + visible seconds, hidden time left out', async () => {
    for (const [uid, e] of Object.entries(SENT.engaged)) {
      const expected = e.focused + e.visible;
      const expr = `sum(grafana_analytics_sessions_duration_seconds_total{job="${JOB}",dashboard_uid="${uid}"})`;
      expect(await eventually(expr, expected), expr).toBe(expected);
    }
    // The legacy series carries the old server's labels, not the new engagement_state.
    const legacy = await prometheus!.query(`grafana_analytics_sessions_duration_seconds_total{job="${JOB}"}`);
    expect(legacy.length).toBeGreaterThan(0);
    for (const r of legacy) {
      expect(r.metric).not.toHaveProperty('engagement_state');
    }
  });

  it('exposes engaged seconds by engagement_state', async () => {
    for (const [uid, e] of Object.entries(SENT.engaged)) {
      const expr = `sum by (engagement_state) (footfall_dashboard_engaged_seconds_total{job="${JOB}",dashboard_uid="${uid}"})`;
      const read = async (): Promise<Record<string, number>> =>
        Object.fromEntries(
          (await prometheus!.query(expr)).map((r: InstantResult) => [r.metric.engagement_state, r.value])
        );
      const expected = { focused: e.focused, visible: e.visible, hidden: e.hidden };
      const seen = await pollUntil(read, (v) => isDeepStrictEqual(v, expected), 3_000);
      expect(seen, expr).toEqual(expected);
    }
  });

  it('round-trips a dashboard name with a quote, backslash, newline and non-ASCII through Prometheus', async () => {
    const expr = `grafana_analytics_sessions_total{job="${JOB}",dashboard_uid="d-alpha"}`;
    const series = await pollUntil(
      () => prometheus!.query(expr),
      (r) => r.reduce((t, s) => t + s.value, 0) === SENT.sessions['d-alpha'],
      3_000
    );
    expect(series.length).toBeGreaterThan(0);
    for (const s of series) {
      expect(s.metric.dashboard_name).toBe(ALPHA_NAME);
    }
    // And the exact value selects the series in PromQL (JSON string escapes are PromQL's too).
    const byName = `sum(grafana_analytics_sessions_total{job="${JOB}",dashboard_name=${JSON.stringify(ALPHA_NAME)}})`;
    expect(await eventually(byName, SENT.sessions['d-alpha']), byName).toBe(SENT.sessions['d-alpha']);
  });

  it('keeps user.login and user.name out of Prometheus under the default privacy policy', async () => {
    await eventually(
      `sum(grafana_analytics_sessions_total{job="${JOB}",dashboard_uid="d-beta"})`,
      SENT.sessions['d-beta']
    );
    const leaked = await prometheus!.query(`{job="${JOB}",user_login!=""} or {job="${JOB}",user_name!=""}`);
    expect(leaked.map((r) => r.metric)).toEqual([]);
    // The rest of the user's labels did arrive: the role per dashboard, the locale once per instance.
    expect(await scalar(`count(grafana_analytics_sessions_total{job="${JOB}",user_role!=""})`)).toBeGreaterThan(0);
    expect(
      await scalar(`count(footfall_sessions_by_preferences_total{job="${JOB}",user_locale="de-DE"})`)
    ).toBeGreaterThan(0);
  });

  it('counts a session on an untitled dashboard (empty name) and one without a name as two sessions', async () => {
    // Prometheus treats an empty label value as no label: if /metrics exposes both
    // {dashboard_name=""} and a series without dashboard_name, they are one series and one sample is dropped.
    const expr = `sum(grafana_analytics_sessions_total{job="${JOB}",dashboard_uid="d-untitled"})`;
    expect(await eventually(expr, 2), expr).toBe(2);
  });

  it('counts two sessions whose dashboard titles were cut mid-emoji as two sessions', async () => {
    // Two different lone surrogates both travel as U+FFFD in UTF-8: two series in the collector,
    // one identical pair of lines on /metrics, one sample dropped by Prometheus.
    const expr = `sum(grafana_analytics_sessions_total{job="${JOB}",dashboard_uid="d-cut"})`;
    expect(await eventually(expr, 2), expr).toBe(2);
  });

  it('stores every sample of the scrape as a series of its own (no duplicate series on /metrics)', async () => {
    // Prometheus 2.42 keeps the first of two samples with the same series in one scrape and drops the
    // other without any error, log line or counter; the only trace is that the scrape held more
    // samples than the series it stored. The collector never removes a series, so at any instant
    // the two numbers must agree.
    const samples = `scrape_samples_scraped{job="${JOB}"}`;
    const stored = `count({job="${JOB}",__name__!~"up|scrape_.+"})`;
    const [scraped, series] = await pollUntil(
      async () => [await scalar(samples), await scalar(stored)] as const,
      ([a, b]) => a === b,
      3_000
    );
    expect(series, `${samples} = ${scraped} but ${stored} = ${series}`).toBe(scraped);
  });
});
