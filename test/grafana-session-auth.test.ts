/**
 * The Grafana-session authorizer against the Grafana stand-in: each of Grafana's answers to
 * `/api/user`, the cache, and single-flight under a burst (at most one Grafana call per cookie per TTL).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
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
/** The sender's address, as the receive stage works it out. */
const CLIENT = '203.0.113.5';
const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');
/** A request as the authorizer's peek() and authenticate() see it: the Cookie header. */
const request = (cookieHeader: string | undefined) =>
  ({ headers: cookieHeader === undefined ? {} : { cookie: cookieHeader } }) as unknown as IncomingMessage;

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
    const decision = await authorizer().authorize(cookie('t1'), CLIENT);
    expect(decision).toEqual({
      allowed: true,
      outcome: 'verified',
      identity: { login: 'alice', id: 42, orgId: 1 },
      subject: `user:${sha256('alice')}`,
    });
  });

  test('no cookie: refused without asking Grafana, or anonymous by policy', async () => {
    const decision = await authorizer().authorize('theme=dark', CLIENT);
    expect(decision).toMatchObject({ allowed: false, outcome: 'no_cookie', status: 401 });
    expect(await authorizer({ anonymous: 'accept' }).authorize(undefined, CLIENT)).toEqual({
      allowed: true,
      outcome: 'anonymous_accepted',
      identity: undefined,
      subject: `addr:${CLIENT}`,
    });
    expect(grafana.calls.size).toBe(0);
  });

  test('401 auth.unauthorized: refused, and remembered for a while', async () => {
    const auth = authorizer();
    expect(await auth.authorize(cookie('nope'), CLIENT)).toMatchObject({
      allowed: false,
      outcome: 'unauthorized',
      status: 401,
    });
    expect(await auth.authorize(cookie('nope'), CLIENT)).toMatchObject({ allowed: false, outcome: 'unauthorized' });
    expect(grafana.calls.get('nope')).toBe(1);
    clock += 5_001;
    await auth.authorize(cookie('nope'), CLIENT);
    expect(grafana.calls.get('nope')).toBe(2);
  });

  test('401 Token revoked and 404 user not found: refused', async () => {
    grafana.tokens.set('gone', 'revoked');
    grafana.tokens.set('deleted', 'deleted');
    const auth = authorizer();
    expect(await auth.authorize(cookie('gone'), CLIENT)).toMatchObject({
      allowed: false,
      outcome: 'revoked',
      status: 401,
    });
    expect(await auth.authorize(cookie('deleted'), CLIENT)).toMatchObject({
      allowed: false,
      outcome: 'user_not_found',
      status: 401,
    });
  });

  test('401 session.token.rotate: accepted for a cookie verified before, by policy otherwise', async () => {
    grafana.tokens.set('t2', { user: ALICE });
    const auth = authorizer();
    await auth.authorize(cookie('t2'), CLIENT);
    grafana.tokens.set('t2', 'rotate');
    clock += 10 * 60_000; // past the cache TTL: Grafana is asked again and says "rotate"
    expect(await auth.authorize(cookie('t2'), CLIENT)).toEqual({
      allowed: true,
      outcome: 'rotating_cached',
      identity: { login: 'alice', id: 42, orgId: 1 },
      subject: `user:${sha256('alice')}`,
    });

    grafana.tokens.set('fresh', 'rotate');
    expect(await auth.authorize(cookie('fresh'), CLIENT)).toMatchObject({
      allowed: false,
      outcome: 'rotating_rejected',
      status: 401,
    });
    const lenient = authorizer({ onRotatingUnknown: 'accept-unverified' });
    // No identity: the session itself is the sender, by a hash of its cookie.
    expect(await lenient.authorize(cookie('fresh'), CLIENT)).toEqual({
      allowed: true,
      outcome: 'rotating_unverified',
      identity: undefined,
      subject: `session:${sha256('fresh')}`,
    });
  });

  test('service accounts: refused by default, accepted when allowed', async () => {
    grafana.tokens.set('robot', { user: ROBOT });
    expect(await authorizer().authorize(cookie('robot'), CLIENT)).toMatchObject({
      allowed: false,
      outcome: 'service_account_rejected',
      status: 403,
    });
    expect(await authorizer({ serviceAccounts: 'accept' }).authorize(cookie('robot'), CLIENT)).toMatchObject({
      allowed: true,
      outcome: 'verified',
    });
  });

  test.each(['error', 'bad-gateway'] as const)(
    'Grafana %s: 503 with Retry-After by default, never a silent drop',
    async (mode) => {
      grafana.tokens.set('t3', { user: ALICE });
      grafana.setMode(mode);
      expect(await authorizer().authorize(cookie('t3'), CLIENT)).toMatchObject({
        allowed: false,
        outcome: 'grafana_unavailable',
        status: 503,
        retryAfterSeconds: 5,
      });
      expect(await authorizer({ onUnavailable: 'accept-unverified' }).authorize(cookie('t3'), CLIENT)).toEqual({
        allowed: true,
        outcome: 'grafana_unavailable_accepted',
        identity: undefined,
        subject: `session:${sha256('t3')}`,
      });
    }
  );

  test('Grafana down: calls pause for a second, so an outage is no stampede of calls', async () => {
    grafana.tokens.set('a', { user: ALICE });
    grafana.tokens.set('b', { user: ALICE });
    grafana.setMode('error');
    const auth = authorizer();
    expect(await auth.authorize(cookie('a'), CLIENT)).toMatchObject({ outcome: 'grafana_unavailable' });
    clock += 999;
    expect(await auth.authorize(cookie('b'), CLIENT)).toMatchObject({ outcome: 'grafana_unavailable', status: 503 });
    expect(grafana.calls.get('b')).toBeUndefined();
    grafana.setMode('up');
    clock += 1;
    expect(await auth.authorize(cookie('b'), CLIENT)).toMatchObject({ allowed: true, outcome: 'verified' });
  });

  test('Grafana slower than the timeout: 503, in about the timeout', async () => {
    grafana.tokens.set('t4', { user: ALICE });
    grafana.setDelay(2_000);
    const started = performance.now();
    expect(await authorizer({ timeoutMs: 200 }).authorize(cookie('t4'), CLIENT)).toMatchObject({
      allowed: false,
      outcome: 'grafana_unavailable',
      status: 503,
    });
    expect(performance.now() - started).toBeLessThan(1_500);
  });
});

describe('cache and single-flight', () => {
  test('1,000 distinct garbage cookies at once: one call each, never more than maxConcurrentCalls at a time', async () => {
    grafana.setDelay(20);
    const auth = authorizer({ maxConcurrentCalls: 8 });
    const decisions = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => auth.authorize(cookie(`junk-${i}`), CLIENT))
    );
    const outcomes = new Map<string, number>();
    for (const d of decisions) {
      outcomes.set(d.outcome, (outcomes.get(d.outcome) ?? 0) + 1);
    }
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
    const decisions = await Promise.all(Array.from({ length: 200 }, () => auth.authorize(cookie('busy'), CLIENT)));
    expect(decisions.every((d) => d.allowed)).toBe(true);
    expect(grafana.calls.get('busy')).toBe(1);
    clock += 59_000;
    await Promise.all(Array.from({ length: 50 }, () => auth.authorize(cookie('busy'), CLIENT)));
    expect(grafana.calls.get('busy')).toBe(1);
    clock += 2_000; // past the 60 s TTL
    await Promise.all(Array.from({ length: 50 }, () => auth.authorize(cookie('busy'), CLIENT)));
    expect(grafana.calls.get('busy')).toBe(2);
  });

  test('a revoked session is not served from the positive cache once its TTL is over', async () => {
    grafana.tokens.set('t5', { user: ALICE });
    const auth = authorizer();
    expect((await auth.authorize(cookie('t5'), CLIENT)).allowed).toBe(true);
    grafana.tokens.set('t5', 'revoked');
    clock += 61_000;
    expect(await auth.authorize(cookie('t5'), CLIENT)).toMatchObject({ allowed: false, outcome: 'revoked' });
    // …and a later "rotate" for it is no longer vouched for by the old verification.
    grafana.tokens.set('t5', 'rotate');
    clock += 6_000;
    expect(await auth.authorize(cookie('t5'), CLIENT)).toMatchObject({ allowed: false, outcome: 'rotating_rejected' });
  });
});

describe('peek: the decision without a call, or none', () => {
  test('an unknown cookie: no decision, and no Grafana call; once verified, the cached decision', async () => {
    grafana.tokens.set('p1', { user: ALICE });
    const auth = authorizer();
    expect(auth.peek(request(cookie('p1')), CLIENT)).toBeUndefined();
    expect(grafana.calls.size).toBe(0);
    await auth.authenticate(request(cookie('p1')), CLIENT);
    expect(auth.peek(request(cookie('p1')), CLIENT)).toEqual({
      allowed: true,
      outcome: 'cached',
      identity: { login: 'alice', id: 42, orgId: 1 },
      subject: `user:${sha256('alice')}`,
    });
    // Past the TTL the session has to be checked again: no decision.
    clock += 60_001;
    expect(auth.peek(request(cookie('p1')), CLIENT)).toBeUndefined();
    expect(grafana.calls.get('p1')).toBe(1);
  });

  test('a refused cookie: the remembered refusal', async () => {
    const auth = authorizer();
    await auth.authenticate(request(cookie('p2')), CLIENT);
    expect(auth.peek(request(cookie('p2')), CLIENT)).toMatchObject({
      allowed: false,
      outcome: 'unauthorized',
      status: 401,
    });
    expect(grafana.calls.get('p2')).toBe(1);
  });

  test('no cookie: refused, or anonymous by policy', () => {
    expect(authorizer().peek(request('theme=dark'), CLIENT)).toMatchObject({ allowed: false, outcome: 'no_cookie' });
    expect(authorizer({ anonymous: 'accept' }).peek(request(undefined), CLIENT)).toMatchObject({
      allowed: true,
      subject: `addr:${CLIENT}`,
    });
  });

  test('while Grafana is taken to be down, no decision either: an answer without a call is still not a verified one', async () => {
    grafana.setMode('error');
    const auth = authorizer({ onUnavailable: 'accept-unverified' });
    expect(await auth.authenticate(request(cookie('p3')), CLIENT)).toMatchObject({
      allowed: true,
      outcome: 'grafana_unavailable_accepted',
    });
    expect(auth.peek(request(cookie('p4')), CLIENT)).toBeUndefined();
  });
});
