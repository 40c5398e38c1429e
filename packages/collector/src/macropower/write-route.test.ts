import { createDashboardLedger, type Inventory } from '../inventory/index.ts';
import { readFileSync } from 'node:fs';
import { DataPointType, MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { RequestError } from '../errors.ts';
import { createAttributeLimiter } from '../limits/index.ts';
import { createPipeline, type Sender } from '../pipeline.ts';
import { createPrivacyPolicy, PERSONAL_KEYS } from '../privacy/index.ts';
import { createSelfMetrics } from '../self-metrics.ts';
import { createTestAggregation } from '../testing/aggregate-stage.ts';
import { createWriteProtocol } from './write-route.ts';
import { createWriteSessions } from './write-sessions.ts';

const FIXTURE = JSON.parse(readFileSync(new URL('./testdata/payload.json', import.meta.url), 'utf8')) as Record<
  string,
  unknown
>;
const T0 = FIXTURE.time as number;
const ALICE: Sender = { subject: 'user:alice', incrementFactor: 1 };
const BOB: Sender = { subject: 'user:bob', incrementFactor: 1 };

function setup(options: { inventory?: Inventory } = {}) {
  const stage = createTestAggregation();
  const pipeline = createPipeline({
    privacy: createPrivacyPolicy({
      mode: 'deny',
      deny: PERSONAL_KEYS,
      allow: [],
      hash: undefined,
      pseudonymKey: 'user.hash',
      redactEmailValues: true,
    }),
    limiter: createAttributeLimiter({ maxAttributesPerPoint: 32, maxKeyLength: 128, maxValueLength: 256 }),
    aggregator: stage.aggregator,
    selfMetrics: createSelfMetrics(new MeterProvider(), { seriesPerFamily: () => new Map() }),
    maxPointsPerRequest: 1000,
    ledger: createDashboardLedger(1000),
    now: Date.now,
    inventory: options.inventory,
  });
  const sessions = createWriteSessions({
    maxSessions: 100,
    idleMs: 3_600_000,
    maxEvents: 128,
    sessionTimeoutSeconds: 0,
    now: stage.clock.now,
  });
  const protocol = createWriteProtocol({
    sessions,
    variables: { allowList: undefined, recordText: false },
    now: stage.clock.now,
  });

  /** What the route answers to one body, with its points gone through the pipeline. */
  function post(
    payload: unknown,
    options: { contentType?: string; sender?: Sender } = {}
  ): { status: number; body: string; refused: number } {
    const format = protocol.formatOf(options.contentType ?? 'text/plain;charset=UTF-8');
    if (format instanceof RequestError) {
      return { status: format.status, body: format.message, refused: 0 };
    }
    try {
      const sender = options.sender ?? ALICE;
      const request = format.decode(
        Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
        sender
      );
      let result;
      try {
        result = pipeline.ingest(request, sender);
      } catch (err) {
        // As the ingest route does when the pipeline turns a request away whole.
        format.discarded?.(request);
        throw err;
      }
      const answer = format.accepted(result);
      return { status: answer.status, body: answer.body.toString(), refused: result.rejectedDataPoints };
    } catch (err) {
      if (!(err instanceof RequestError)) {
        throw err;
      }
      const answer = format.refused(err);
      return { status: answer.status, body: answer.body.toString(), refused: 0 };
    }
  }

  /** Sum of a counter family, optionally over the series matching some labels. */
  async function total(family: string, labels: Record<string, string> = {}): Promise<number> {
    const rows = await stage.values(family);
    return rows
      .filter(([a]) => Object.entries(labels).every(([k, v]) => a[k] === v))
      .reduce((sum, [, v]) => sum + v, 0);
  }

  async function labelValues(): Promise<string[]> {
    const { resourceMetrics } = await stage.data.collect();
    return resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .flatMap((m) =>
        m.dataPoints.flatMap((p) => [...Object.keys(p.attributes), ...Object.values(p.attributes).map(String)])
      );
  }

  async function durationHistogram(): Promise<{ count: number; sum: number } | undefined> {
    const { resourceMetrics } = await stage.data.collect();
    const metric = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === 'footfall_dashboard_session_duration_seconds');
    if (!metric || metric.dataPointType !== DataPointType.HISTOGRAM) {
      return undefined;
    }
    const point = metric.dataPoints[0]?.value;
    return point && { count: point.count, sum: point.sum ?? 0 };
  }

  return { post, total, labelValues, durationHistogram };
}

const payload = (type: string, time: number, extra: Record<string, unknown> = {}) => ({
  ...FIXTURE,
  type,
  time,
  ...extra,
});

describe('POST /write, as the old panel sends it', () => {
  it('start → heartbeat → end: one session, the old server’s seconds, split by focus', async () => {
    const w = setup();
    expect(w.post(payload('start', T0))).toEqual({ status: 201, body: '', refused: 0 });
    expect(w.post(payload('heartbeat', T0 + 60)).status).toBe(201);
    expect(w.post(payload('end', T0 + 120, { hasFocus: false })).status).toBe(201);

    expect(await w.total('grafana_analytics_sessions_total')).toBe(1);
    expect(
      await w.total('grafana_analytics_sessions_total', {
        dashboard_uid: 'ck-latency',
        dashboard_name: 'Checkout latency',
        user_role: 'Editor',
        grafana_host: 'grafana.example.org:3000',
        grafana_env: 'production',
      })
    ).toBe(1);
    expect(await w.total('grafana_analytics_sessions_duration_seconds_total')).toBe(120);
    expect(await w.total('footfall_dashboard_engaged_seconds_total', { engagement_state: 'focused' })).toBe(60);
    expect(await w.total('footfall_dashboard_engaged_seconds_total', { engagement_state: 'visible' })).toBe(60);
    expect(await w.total('footfall_dashboard_heartbeats_total')).toBe(1);
    expect(await w.durationHistogram()).toEqual({ count: 1, sum: 120 });
    expect(
      await w.total('footfall_sessions_by_preferences_total', {
        user_theme: 'light',
        user_timezone: 'Europe/Berlin',
        user_locale: 'de-DE',
      })
    ).toBe(1);
  });

  it('records variables and the time range at the start and when they change', async () => {
    const w = setup();
    w.post(payload('start', T0));
    w.post(payload('heartbeat', T0 + 60));
    const changed = (FIXTURE.variables as Array<Record<string, unknown>>).map((v) =>
      v.name === 'cluster' ? { ...v, values: ['eu-1'] } : v
    );
    w.post(
      payload('heartbeat', T0 + 120, {
        variables: changed,
        timeRange: { from: 1, to: 2, raw: { from: '2025-10-01T00:00:00.000Z', to: '2025-10-02T00:00:00.000Z' } },
      })
    );
    expect(
      await w.total('footfall_dashboard_variable_selections_total', {
        variable_name: 'cluster',
        variable_value: 'eu-1',
      })
    ).toBe(2);
    expect(
      await w.total('footfall_dashboard_variable_selections_total', {
        variable_name: 'cluster',
        variable_value: 'us-2',
      })
    ).toBe(1);
    expect(
      await w.total('footfall_dashboard_variable_selections_total', { variable_name: 'env', variable_value: '$__all' })
    ).toBe(1);
    expect(await w.total('footfall_dashboard_variable_selections_total', { variable_name: 'threshold' })).toBe(0);
    expect(await w.total('footfall_dashboard_variable_selections_total', { variable_name: 'search' })).toBe(0);
    expect(await w.total('footfall_dashboard_time_range_selections_total', { time_range: 'now-6h' })).toBe(1);
    expect(await w.total('footfall_dashboard_time_range_selections_total', { time_range: 'absolute' })).toBe(1);
  });

  it('no login, name, e-mail or user id reaches a series', async () => {
    const w = setup();
    w.post(payload('start', T0));
    w.post(payload('end', T0 + 60));
    const values = (await w.labelValues()).join(' ');
    for (const personal of [
      'jdoe',
      'Jane Doe',
      'jane.doe@example.org',
      'user_login',
      'user_name',
      'user_email',
      'user_id',
    ]) {
      expect(values).not.toContain(personal);
    }
  });

  it('takes text/plain (the no-cors fetch), application/json and no content type; anything else is 415', () => {
    const w = setup();
    expect(w.post(payload('start', T0, { uuid: 'a' }), { contentType: 'text/plain;charset=UTF-8' }).status).toBe(201);
    expect(w.post(payload('start', T0, { uuid: 'b' }), { contentType: 'application/json' }).status).toBe(201);
    expect(w.post(payload('start', T0, { uuid: 'c' }), { contentType: '' }).status).toBe(201);
    const refused = w.post(payload('start', T0, { uuid: 'd' }), { contentType: 'application/x-www-form-urlencoded' });
    expect(refused.status).toBe(415);
    expect(refused.body).toMatch(/application\/json, text\/plain or no content type/);
  });

  it('garbage: 400, one plain-text line', () => {
    const w = setup();
    expect(w.post('{"type":"start", "user": {"login": "jdoe"')).toEqual({
      status: 400,
      body: 'the body is not valid JSON: expected a MacroPower panel payload\n',
      refused: 0,
    });
  });

  it('non-string variable values do not fail the request', async () => {
    const w = setup();
    const variables = [{ name: 'mixed', type: 'custom', multi: true, values: [3, false, null, { a: 1 }, [1, 2], 'x'] }];
    expect(w.post(payload('start', T0, { variables }))).toEqual({ status: 201, body: '', refused: 0 });
    expect(await w.total('footfall_dashboard_variable_selections_total', { variable_name: 'mixed' })).toBe(3);
  });

  it('a dashboard never saved (uid new or none) is answered 201 and recorded nowhere, as the old server did', async () => {
    const w = setup();
    expect(w.post(payload('start', T0, { dashboard: { uid: 'new', name: 'New dashboard' } })).status).toBe(201);
    expect(w.post(payload('start', T0, { uuid: 'x', dashboard: { uid: '', name: 'New dashboard' } })).status).toBe(201);
    expect(await w.total('grafana_analytics_sessions_total')).toBe(0);
  });

  it('another sender cannot end or add to a session by its uuid', async () => {
    const w = setup();
    w.post(payload('start', T0));
    w.post(payload('end', T0 + 86_400), { sender: BOB });
    expect(await w.total('grafana_analytics_sessions_duration_seconds_total')).toBe(0);
    w.post(payload('end', T0 + 300));
    expect(await w.total('grafana_analytics_sessions_duration_seconds_total')).toBe(300);
  });

  it('seconds beyond what the client times can hold are refused by the catalog bounds', () => {
    const w = setup();
    // A session claiming to have lasted a year: past the 31-day window any point may cover.
    w.post(payload('start', T0 - 365 * 86_400, { uuid: 'long' }));
    expect(w.post(payload('end', T0, { uuid: 'long' }))).toMatchObject({ status: 201, refused: 2 });
  });

  it('a payload the pipeline turns away whole (503: its dashboard not listed yet) leaves the session as it was', async () => {
    let listed = false;
    const inventory = {
      waitFor: () => (listed ? undefined : 2),
      lookup: () => ({ name: 'As Grafana names it', folder: '' }),
    } as unknown as Inventory;
    const w = setup({ inventory });
    expect(w.post(payload('start', T0)).status).toBe(503);
    listed = true;
    // Had the refused start been kept, this one would be a repeat and count nothing.
    expect(w.post(payload('start', T0)).status).toBe(201);
    expect(w.post(payload('end', T0 + 120)).status).toBe(201);
    expect(await w.total('grafana_analytics_sessions_total', { dashboard_name: 'As Grafana names it' })).toBe(1);
    expect(await w.total('grafana_analytics_sessions_duration_seconds_total')).toBe(120);
  });
});
