/**
 * The Grafana-session authorizer against the Grafana stand-in: each of Grafana's answers to
 * `/api/user`, the cache, and single-flight under a burst (at most one Grafana call per cookie per TTL).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  cookieValue,
  createGrafanaSessionAuthorizer,
  type GrafanaSessionSettings,
} from '../packages/collector/src/authorize/grafana-session.ts';
import { startGrafanaStandIn, type GrafanaStandIn, type StandInUser } from './support/grafana-stand-in.ts';

const ALICE: StandInUser = { id: 42, login: 'alice', name: 'Alice Example', email: 'alice@example.com', orgId: 1 };
const ROBOT: StandInUser = { id: 7, login: 'sa-1-exporter', name: 'exporter', email: '', orgId: 1 };

let grafana: GrafanaStandIn;
let clock = 1_000_000;

beforeAll(async () => {
  grafana = await startGrafanaStandIn();
});
afterAll(async () => {
  await grafana.close();
});
beforeEach(() => {
  grafana.tokens.clear();
  grafana.resetCounts();
  grafana.setMode('up');
  grafana.setDelay(0);
  clock = 1_000_000;
});

function authorizer(overrides: Partial<GrafanaSessionSettings> = {}) {
  return createGrafanaSessionAuthorizer({
    grafanaUrl: grafana.url,
    cookieName: 'grafana_session',
    timeoutMs: 500,
    cacheTtlMs: 60_000,
    negativeTtlMs: 5_000,
    rememberMs: 24 * 3_600_000,
    maxEntries: 1000,
    onRotatingUnknown: 'reject',
    onUnavailable: 'reject',
    serviceAccounts: 'reject',
    anonymous: 'reject',
    maxConcurrentCalls: 32,
    retryAfterSeconds: 5,
    fetch: globalThis.fetch,
    now: () => clock,
    ...overrides,
  });
}

const cookie = (token: string) => `theme=dark; grafana_session=${token}; grafana_session_expiry=1795550000`;

describe('cookieValue', () => {
  test('takes only the named cookie', () => {
    expect(cookieValue(cookie('abc'), 'grafana_session')).toBe('abc');
    expect(cookieValue('grafana_session_expiry=1', 'grafana_session')).toBeUndefined();
    expect(cookieValue('grafana_session=', 'grafana_session')).toBeUndefined();
    expect(cookieValue(undefined, 'grafana_session')).toBeUndefined();
  });
});

describe("each of Grafana's answers", () => {
  test('200: allowed, with the identity Grafana verified', async () => {
    grafana.tokens.set('t1', { user: ALICE });
    const decision = await authorizer().authorize(cookie('t1'));
    expect(decision).toEqual({ allowed: true, outcome: 'verified', identity: { login: 'alice', id: 42, orgId: 1 } });
  });

  test('no cookie: refused without asking Grafana, or anonymous by policy', async () => {
    const decision = await authorizer().authorize('theme=dark');
    expect(decision).toMatchObject({ allowed: false, outcome: 'no_cookie', status: 401 });
    expect(await authorizer({ anonymous: 'accept' }).authorize(undefined)).toEqual({ allowed: true, outcome: 'anonymous_accepted', identity: undefined });
    expect(grafana.calls.size).toBe(0);
  });

  test('401 auth.unauthorized: refused, and remembered for a while', async () => {
    const auth = authorizer();
    expect(await auth.authorize(cookie('nope'))).toMatchObject({ allowed: false, outcome: 'unauthorized', status: 401 });
    expect(await auth.authorize(cookie('nope'))).toMatchObject({ allowed: false, outcome: 'unauthorized' });
    expect(grafana.calls.get('nope')).toBe(1);
    clock += 5_001;
    await auth.authorize(cookie('nope'));
    expect(grafana.calls.get('nope')).toBe(2);
  });

  test('401 Token revoked and 404 user not found: refused', async () => {
    grafana.tokens.set('gone', 'revoked');
    grafana.tokens.set('deleted', 'deleted');
    const auth = authorizer();
    expect(await auth.authorize(cookie('gone'))).toMatchObject({ allowed: false, outcome: 'revoked', status: 401 });
    expect(await auth.authorize(cookie('deleted'))).toMatchObject({ allowed: false, outcome: 'user_not_found', status: 401 });
  });

  test('401 session.token.rotate: accepted for a cookie verified before, by policy otherwise', async () => {
    grafana.tokens.set('t2', { user: ALICE });
    const auth = authorizer();
    await auth.authorize(cookie('t2'));
    grafana.tokens.set('t2', 'rotate');
    clock += 10 * 60_000; // past the cache TTL: Grafana is asked again and says "rotate"
    expect(await auth.authorize(cookie('t2'))).toEqual({ allowed: true, outcome: 'rotating_cached', identity: { login: 'alice', id: 42, orgId: 1 } });

    grafana.tokens.set('fresh', 'rotate');
    expect(await auth.authorize(cookie('fresh'))).toMatchObject({ allowed: false, outcome: 'rotating_rejected', status: 401 });
    const lenient = authorizer({ onRotatingUnknown: 'accept-unverified' });
    expect(await lenient.authorize(cookie('fresh'))).toEqual({ allowed: true, outcome: 'rotating_unverified', identity: undefined });
  });

  test('service accounts: refused by default, accepted when allowed', async () => {
    grafana.tokens.set('robot', { user: ROBOT });
    expect(await authorizer().authorize(cookie('robot'))).toMatchObject({ allowed: false, outcome: 'service_account_rejected', status: 403 });
    expect(await authorizer({ serviceAccounts: 'accept' }).authorize(cookie('robot'))).toMatchObject({ allowed: true, outcome: 'verified' });
  });

  test.each(['error', 'bad-gateway'] as const)('Grafana %s: 503 with Retry-After by default, never a silent drop', async (mode) => {
    grafana.tokens.set('t3', { user: ALICE });
    grafana.setMode(mode);
    expect(await authorizer().authorize(cookie('t3'))).toMatchObject({ allowed: false, outcome: 'grafana_unavailable', status: 503, retryAfterSeconds: 5 });
    expect(await authorizer({ onUnavailable: 'accept-unverified' }).authorize(cookie('t3'))).toEqual({
      allowed: true,
      outcome: 'grafana_unavailable_accepted',
      identity: undefined,
    });
  });

  test('Grafana down: calls pause for a second, so an outage is no stampede of calls', async () => {
    grafana.tokens.set('a', { user: ALICE });
    grafana.tokens.set('b', { user: ALICE });
    grafana.setMode('error');
    const auth = authorizer();
    expect(await auth.authorize(cookie('a'))).toMatchObject({ outcome: 'grafana_unavailable' });
    clock += 999;
    expect(await auth.authorize(cookie('b'))).toMatchObject({ outcome: 'grafana_unavailable', status: 503 });
    expect(grafana.calls.get('b')).toBeUndefined();
    grafana.setMode('up');
    clock += 1;
    expect(await auth.authorize(cookie('b'))).toMatchObject({ allowed: true, outcome: 'verified' });
  });

  test('Grafana slower than the timeout: 503, in about the timeout', async () => {
    grafana.tokens.set('t4', { user: ALICE });
    grafana.setDelay(2_000);
    const started = performance.now();
    expect(await authorizer({ timeoutMs: 200 }).authorize(cookie('t4'))).toMatchObject({ allowed: false, outcome: 'grafana_unavailable', status: 503 });
    expect(performance.now() - started).toBeLessThan(1_500);
  });
});

describe('cache and single-flight', () => {
  test('1,000 distinct garbage cookies at once: one call each, never more than maxConcurrentCalls at a time', async () => {
    grafana.setDelay(20);
    const auth = authorizer({ maxConcurrentCalls: 8 });
    const decisions = await Promise.all(Array.from({ length: 1000 }, (_, i) => auth.authorize(cookie(`junk-${i}`))));
    const outcomes = new Map<string, number>();
    for (const d of decisions) outcomes.set(d.outcome, (outcomes.get(d.outcome) ?? 0) + 1);
    // 8 were asked; the rest were turned away with a retryable 503 instead of queueing onto Grafana.
    expect(Object.fromEntries(outcomes)).toEqual({ unauthorized: 8, grafana_busy: 992 });
    expect(decisions.find((d) => d.outcome === 'grafana_busy')).toMatchObject({ status: 503, retryAfterSeconds: 1 });
    expect(Math.max(...grafana.calls.values())).toBe(1);
    expect(grafana.maxConcurrent).toBeLessThanOrEqual(8);
  });

  test('a burst of 200 exports with one cookie makes one Grafana call per TTL', async () => {
    grafana.tokens.set('busy', { user: ALICE });
    grafana.setDelay(50);
    const auth = authorizer();
    const decisions = await Promise.all(Array.from({ length: 200 }, () => auth.authorize(cookie('busy'))));
    expect(decisions.every((d) => d.allowed)).toBe(true);
    expect(grafana.calls.get('busy')).toBe(1);
    clock += 59_000;
    await Promise.all(Array.from({ length: 50 }, () => auth.authorize(cookie('busy'))));
    expect(grafana.calls.get('busy')).toBe(1);
    clock += 2_000; // past the 60 s TTL
    await Promise.all(Array.from({ length: 50 }, () => auth.authorize(cookie('busy'))));
    expect(grafana.calls.get('busy')).toBe(2);
  });

  test('a revoked session is not served from the positive cache once its TTL is over', async () => {
    grafana.tokens.set('t5', { user: ALICE });
    const auth = authorizer();
    expect((await auth.authorize(cookie('t5'))).allowed).toBe(true);
    grafana.tokens.set('t5', 'revoked');
    clock += 61_000;
    expect(await auth.authorize(cookie('t5'))).toMatchObject({ allowed: false, outcome: 'revoked' });
    // …and a later "rotate" for it is no longer vouched for by the old verification.
    grafana.tokens.set('t5', 'rotate');
    clock += 6_000;
    expect(await auth.authorize(cookie('t5'))).toMatchObject({ allowed: false, outcome: 'rotating_rejected' });
  });
});
