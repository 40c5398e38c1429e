/**
 * The old macropower-analytics-panel posting to footfall instead of its Go server: the built collector
 * with Grafana-session auth (the stand-in plays Grafana), 2.x payloads posted the way the panel's
 * no-cors fetch sends them (text/plain), and what an operator then sees on /metrics and in the logs.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counts, delta, exportTo, spawnWithConfig, type ConfiguredCollector } from './support/auth-config.ts';
import { scrape, sumOf } from './support/exposition.ts';
import { startGrafanaStandIn, type GrafanaStandIn, type StandInUser } from './support/grafana-stand-in.ts';

const FIXTURE = JSON.parse(
  readFileSync(new URL('../packages/collector/src/macropower/testdata/payload.json', import.meta.url), 'utf8')
) as Record<string, unknown>;
const T0 = FIXTURE.time as number;
/** The personal data in the fixture (and the stand-in's user): none of it may come out anywhere. */
const PERSONAL = ['jdoe', 'Jane Doe', 'jane.doe@example.org', 'alice@example.com', 'Alice Example'];
const ALICE: StandInUser = { id: 42, login: 'alice', name: 'Alice Example', email: 'alice@example.com', orgId: 1 };
const TOKEN = 'write-test-session-token-5b2e';
const COOKIE = `grafana_session=${TOKEN}; theme=dark`;

let grafana: GrafanaStandIn;
let c: ConfiguredCollector;
let uids = 0;

beforeAll(async () => {
  grafana = await startGrafanaStandIn();
  grafana.tokens.set(TOKEN, { user: ALICE });
  c = await spawnWithConfig({
    auth: { grafana: { url: grafana.url } },
    legacy: { write: { paths: ['/write', '/analytics-plugin/write'] } },
  });
});

afterAll(async () => {
  await c?.stop();
  await grafana?.close();
});

/** The fixture as one event of a session on a dashboard of its own. */
function payload(
  uid: string,
  type: string,
  time: number,
  extra: Record<string, unknown> = {}
): Record<string, unknown> {
  return { ...FIXTURE, uuid: `uuid-${uid}`, dashboard: { name: 'Checkout latency', uid }, type, time, ...extra };
}

/** POSTs as the old panel does: fetch with no-cors turns its JSON into text/plain;charset=UTF-8. */
async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = { cookie: COOKIE },
  method = 'POST'
) {
  const res = await fetch(`${c.url}${path}`, {
    method,
    headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers },
    body: method === 'POST' ? (typeof body === 'string' ? body : JSON.stringify(body)) : undefined,
  });
  return { status: res.status, text: await res.text(), allow: res.headers.get('allow') };
}

describe('POST /write with Grafana-session auth', () => {
  it('start → heartbeat → end as text/plain: one session, the old server’s seconds, no personal data anywhere', async () => {
    const uid = `write-${++uids}`;
    const before = await counts(c.url);
    expect(await post('/analytics-plugin/write', payload(uid, 'start', T0))).toMatchObject({ status: 201, text: '' });
    expect(await post('/analytics-plugin/write', payload(uid, 'heartbeat', T0 + 60))).toMatchObject({
      status: 201,
      text: '',
    });
    // A gap of 15 minutes is credited as 75 s: 1.25 × the 60 s heartbeat interval the payload states.
    expect(
      await post('/analytics-plugin/write', payload(uid, 'end', T0 + 60 + 900, { hasFocus: false }))
    ).toMatchObject({ status: 201, text: '' });

    const after = await counts(c.url);
    expect(sumOf(after.samples, 'grafana_analytics_sessions_total', { dashboard_uid: uid })).toBe(1);
    expect(
      sumOf(after.samples, 'grafana_analytics_sessions_total', {
        dashboard_uid: uid,
        user_role: 'Editor',
        grafana_host: 'grafana.example.org:3000',
      })
    ).toBe(1);
    expect(sumOf(after.samples, 'grafana_analytics_sessions_duration_seconds_total', { dashboard_uid: uid })).toBe(
      60 + 75
    );
    expect(sumOf(after.samples, 'footfall_dashboard_session_duration_seconds_count', { dashboard_uid: uid })).toBe(1);
    expect(delta(before.requests, after.requests)).toEqual({ '201 ok': 3 });
    expect(
      sumOf(after.samples, 'footfall_collector_requests_total', { encoding: 'macropower', code: '201' })
    ).toBeGreaterThanOrEqual(3);

    const everything = `${after.text}\n${c.output.join('\n')}`;
    for (const personal of PERSONAL) {
      expect(everything).not.toContain(personal);
    }
    expect(after.text).not.toMatch(/user_login="[^"]/);
  });

  it('without a valid Grafana session cookie it is refused like an OTLP export', async () => {
    const uid = `write-${++uids}`;
    const otlpNoCookie = await exportTo(c.url, { uid });
    const noCookie = await post('/write', payload(uid, 'start', T0), {});
    expect(noCookie.status).toBe(401);
    expect(noCookie.status).toBe(otlpNoCookie.status);
    expect(noCookie.text).toMatch(/^[^\n]+\n$/);
    const otlpBadCookie = await exportTo(c.url, { uid, headers: { cookie: 'grafana_session=not-a-session' } });
    const badCookie = await post('/write', payload(uid, 'start', T0), { cookie: 'grafana_session=not-a-session' });
    expect(badCookie.status).toBe(otlpBadCookie.status);
    expect(badCookie.status).toBe(401);
    const { samples } = await scrape(c.url);
    expect(sumOf(samples, 'grafana_analytics_sessions_total', { dashboard_uid: uid })).toBe(0);
  });

  it('a page of another origin is refused, as on /v1/metrics', async () => {
    const answer = await post('/write', payload(`write-${++uids}`, 'start', T0), {
      cookie: COOKIE,
      origin: 'https://evil.example.net',
    });
    expect(answer.status).toBe(403);
  });

  it('answers on every configured path, and only there', async () => {
    const uid = `write-${++uids}`;
    expect((await post('/write', payload(uid, 'start', T0))).status).toBe(201);
    expect((await post('/other/write', payload(uid, 'start', T0))).status).toBe(404);
    const { samples } = await scrape(c.url);
    expect(sumOf(samples, 'grafana_analytics_sessions_total', { dashboard_uid: uid })).toBe(1);
  });

  it('garbage gets a 400 of one line that repeats nothing; other methods 405, other content types 415', async () => {
    const garbage = await post('/write', '{"type": "start", "user": {"login": "jdoe"');
    expect(garbage.status).toBe(400);
    expect(garbage.text).toBe('the body is not valid JSON: expected a MacroPower panel payload\n');
    const unknownType = await post('/write', { type: 'refresh', uuid: 'u', user: { login: 'jdoe' } });
    expect(unknownType.status).toBe(400);
    expect(unknownType.text).not.toContain('refresh');
    const get = await post('/write', undefined, { cookie: COOKIE }, 'GET');
    expect(get).toMatchObject({ status: 405, allow: 'POST' });
    expect(
      (await post('/write', payload('x', 'start', T0), { cookie: COOKIE, 'content-type': 'application/xml' })).status
    ).toBe(415);
    expect(c.output.join('\n')).not.toContain('jdoe');
  });

  it('non-string variable values do not fail the request', async () => {
    const uid = `write-${++uids}`;
    const variables = [
      { name: 'mixed', label: '', type: 'custom', multi: true, values: [3, true, null, { text: 'a' }, ['b'], 'c'] },
    ];
    expect(await post('/write', payload(uid, 'start', T0, { variables }))).toMatchObject({ status: 201, text: '' });
    const { samples } = await scrape(c.url);
    expect(
      sumOf(samples, 'footfall_dashboard_variable_selections_total', { dashboard_uid: uid, variable_name: 'mixed' })
    ).toBe(3);
    expect(sumOf(samples, 'grafana_analytics_sessions_total', { dashboard_uid: uid })).toBe(1);
  });
});
