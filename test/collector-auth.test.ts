/**
 * The collector's auth modes as users meet them: the built collector (`node dist/main.js`) with a YAML
 * configuration, exports over HTTP, and what a browser, a proxy or an operator sees: the status code,
 * Retry-After / WWW-Authenticate / CORS headers, the OTLP error message, the points in /metrics and the
 * footfall_collector_auth_total / footfall_collector_requests_total counts. Grafana is the stand-in;
 * the authorizer's own unit-level cases are in grafana-session-auth.test.ts.
 */
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  counts,
  delta,
  exportTo,
  spawnWithConfig,
  type Answer,
  type ConfiguredCollector,
  type Counts,
  type ExportOptions,
} from './support/auth-config.ts';
import { COLLECTOR_MAIN, spawnCollector, type CollectorProcess } from './support/collector-process.ts';
import { sumOf, type Sample } from './support/exposition.ts';
import { startGrafanaStandIn, type GrafanaStandIn, type StandInUser } from './support/grafana-stand-in.ts';
import { pollUntil } from './support/prometheus.ts';
import { uploadLargeBody } from './support/requests.ts';

const SECRET = 'footfall-auth-test-hash-secret-7f3a9c';
/** What the collector's keyed-hash policy makes of a login: HMAC-SHA256 with the secret, first 16 hex digits. */
const pseudonym = (login: string) => createHmac('sha256', SECRET).update(login).digest('hex').slice(0, 16);

const ALICE: StandInUser = { id: 42, login: 'alice', name: 'Alice Example', email: 'alice@example.com', orgId: 1 };
const ROBOT: StandInUser = { id: 7, login: 'sa-1-exporter', name: 'exporter', email: '', orgId: 1 };
const SESSIONS = 'grafana_analytics_sessions_total';
const ALLOWED_ORIGIN = 'https://grafana.example.com';
/** A cookie of the page that must never leave the collector. */
const OTHER_COOKIE = 'other-cookie-value-c0ffee';
const CACHE_TTL_SECONDS = 2;
const RETRY_AFTER_SECONDS = 7;
const MAX_CONCURRENT_CALLS = 4;
const TIMEOUT_MS = 1000;

/** Every credential a test sent, so the log checks can look for all of them. */
const credentials = new Set<string>();

function token(label: string): string {
  const t = `${label}-${randomBytes(9).toString('base64url')}`;
  credentials.add(t);
  return t;
}

let uids = 0;
/** A dashboard uid no other test uses, so each test reads only its own series. */
const uid = (label: string) => `${label}-${++uids}`;

/** The Cookie header of a browser on Grafana's origin: the session among the page's other cookies. */
const browserCookie = (session: string) =>
  `theme=dark; grafana_session=${session}; grafana_session_expiry=1795550000; other=${OTHER_COOKIE}`;

function seriesOf(samples: readonly Sample[], dashboardUid: string): Sample[] {
  return samples.filter((s) => s.name === SESSIONS && s.labels.dashboard_uid === dashboardUid);
}

/** Counts the statuses of many answers, for one readable failure message. */
function statuses(answers: readonly Answer[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) {
    out[a.status] = (out[a.status] ?? 0) + 1;
  }
  return out;
}

/** Runs `action` and reports what it changed in the collector's auth and request counters. */
async function measured<T>(
  collectorUrl: string,
  action: () => Promise<T>
): Promise<{ result: T; auth: Record<string, number>; requests: Record<string, number>; after: Counts }> {
  const before = await counts(collectorUrl);
  const result = await action();
  const after = await counts(collectorUrl);
  return { result, auth: delta(before.auth, after.auth), requests: delta(before.requests, after.requests), after };
}

function expectRefused(answer: Answer, status: number, rpcCode: number, message: RegExp): void {
  expect(answer.status, `answer: ${answer.text}`).toBe(status);
  expect(answer.rpc, `not a google.rpc.Status: ${answer.text}`).toBeDefined();
  expect(answer.rpc!.code).toBe(rpcCode);
  expect(answer.rpc!.message).toMatch(message);
}

const RPC = { PERMISSION_DENIED: 7, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;

interface RecordedCall {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

interface RecordingProxy {
  readonly url: string;
  /** Every request the collector made to "Grafana", with its headers. */
  readonly calls: RecordedCall[];
  close(): Promise<void>;
}

/**
 * A pass-through in front of the Grafana stand-in that records the headers the collector sends, which
 * the stand-in does not keep. Closing the collector's connection closes the one to the stand-in, so a
 * timed-out call does not linger there.
 */
async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const calls: RecordedCall[] = [];
  const server = createServer((req, res) => {
    calls.push({ path: req.url ?? '', headers: req.headers });
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      }
    );
    forward.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) {
        forward.destroy();
      }
    });
    req.pipe(forward);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    calls,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

interface StalledUpload {
  readonly socket: Socket;
  /** The answer's status line and headers, once there is one. */
  answer: { readonly status: number; readonly head: string; readonly at: number } | undefined;
  readonly answered: Promise<{ readonly status: number; readonly head: string; readonly at: number }>;
}

/** A POST whose headers announce a body that never comes: only the request head is sent. */
async function stallUpload(collectorUrl: string, headers: Readonly<Record<string, string>>): Promise<StalledUpload> {
  const target = new URL(collectorUrl);
  const socket = connect(Number(target.port), target.hostname);
  socket.on('error', () => {});
  await once(socket, 'connect');
  const lines = Object.entries({ host: target.host, ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
  socket.write(`POST /v1/metrics HTTP/1.1\r\n${lines.join('')}\r\n`);
  const upload: StalledUpload = {
    socket,
    answer: undefined,
    answered: new Promise((resolve) => {
      let received = '';
      const done = (): void => {
        const head = received.slice(0, Math.max(0, received.indexOf('\r\n\r\n')));
        upload.answer = { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, at: performance.now() };
        resolve(upload.answer);
      };
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
        if (upload.answer === undefined && received.includes('\r\n\r\n')) {
          done();
        }
      });
      socket.on('close', () => {
        if (upload.answer === undefined) {
          done();
        }
      });
    }),
  };
  return upload;
}

/**
 * Sends only the request head of a POST whose Content-Length announces a body, and waits up to
 * `waitMs` for an answer: a collector that reads the body before deciding never answers.
 */
async function headWithoutBody(
  collectorUrl: string,
  headers: Readonly<Record<string, string>>,
  waitMs = 3000
): Promise<{ status: number; head: string }> {
  const upload = await stallUpload(collectorUrl, headers);
  const answer = await Promise.race([upload.answered, sleep(waitMs).then(() => undefined)]);
  upload.socket.destroy();
  return { status: answer?.status ?? 0, head: answer?.head ?? '' };
}

/** The log lines must not hold a credential, a login or the hash secret. */
function expectCleanLogs(proc: CollectorProcess, extra: readonly string[] = []): void {
  expect(
    proc.output.some((line) => line.includes('footfall collector listening')),
    'the collector logged nothing'
  ).toBe(true);
  const log = proc.output.join('\n');
  for (const secret of [...credentials, 'alice', 'mallory', OTHER_COOKIE, SECRET, ...extra]) {
    expect(log.includes(secret), `the log mentions ${JSON.stringify(secret)}:\n${log}`).toBe(false);
  }
}

describe('grafana-session mode: each export is checked with Grafana', () => {
  let grafana: GrafanaStandIn;
  let recorder: RecordingProxy;
  let c: ConfiguredCollector;
  const post = (options: ExportOptions) => exportTo(c.url, options);
  const withCookie = (session: string, dashboardUid: string, headers: Record<string, string> = {}) =>
    post({ uid: dashboardUid, headers: { cookie: browserCookie(session), ...headers } });

  beforeAll(async () => {
    grafana = await startGrafanaStandIn();
    recorder = await startRecordingProxy(grafana.url);
    c = await spawnWithConfig(
      {
        server: { allowedOrigins: [ALLOWED_ORIGIN] },
        auth: {
          grafana: {
            cacheTtlSeconds: CACHE_TTL_SECONDS,
            negativeCacheTtlSeconds: 10,
            // Generous: the stand-in shares its event loop with the test's bursts of requests.
            timeoutMs: TIMEOUT_MS,
            retryAfterSeconds: RETRY_AFTER_SECONDS,
            maxConcurrentCalls: MAX_CONCURRENT_CALLS,
          },
        },
        privacy: { hash: { enabled: true } },
        // Bursts below are about Grafana calls, not about admission control (the flood tests further
        // down run collectors of their own with the default budgets).
        admission: {
          maxConcurrentRequests: 5000,
          maxRequestsPerSecond: 100_000,
          burst: 100_000,
          perAddress: { maxRequestsPerSecond: 100_000, burst: 100_000 },
          maxConcurrentRequestsPerSender: 5000,
        },
        log: { level: 'trace' },
      },
      // The mode follows from the Grafana URL; URL and secret come from the environment, as in production.
      { env: { FOOTFALL_GRAFANA_URL: recorder.url, FOOTFALL_HASH_SECRET: SECRET } }
    );
  });
  afterAll(async () => {
    await c?.stop();
    await recorder?.close();
    await grafana?.close();
  });
  beforeEach(() => {
    grafana.setMode('up');
    grafana.setDelay(0);
    grafana.resetCounts();
    recorder.calls.length = 0;
  });

  it('a valid session cookie: 200, the points show in /metrics, and the next export is served from the cache', async () => {
    const session = token('valid');
    grafana.tokens.set(session, { user: ALICE });
    const u = uid('valid');
    const { result, auth, requests, after } = await measured(c.url, async () => [
      await post({ uid: u, value: 3, headers: { cookie: browserCookie(session) } }),
      await post({ uid: u, value: 2, headers: { cookie: browserCookie(session) } }),
    ]);
    for (const answer of result) {
      expect(answer.status, answer.text).toBe(200);
    }
    expect(sumOf(after.samples, SESSIONS, { dashboard_uid: u }), 'points counted in /metrics').toBe(5);
    expect(grafana.calls.get(session), 'Grafana calls for the cookie').toBe(1);
    expect(auth).toEqual({ 'grafana-session/verified': 1, 'grafana-session/cached': 1 });
    expect(requests).toEqual({ '200 ok': 2 });
  });

  it("forwards the session cookie alone to <grafana>/api/user: the page's other cookies and headers stay here", async () => {
    const session = token('forward');
    grafana.tokens.set(session, { user: ALICE });
    const answer = await withCookie(session, uid('forward'), {
      authorization: 'Bearer not-for-grafana',
      'x-webauth-user': 'mallory',
    });
    expect(answer.status, answer.text).toBe(200);
    expect(recorder.calls.map((call) => call.path)).toEqual(['/grafana/api/user']);
    const sent = recorder.calls[0]!.headers;
    expect(sent.cookie, 'the Cookie header Grafana received').toBe(`grafana_session=${session}`);
    expect(sent.authorization).toBeUndefined();
    expect(sent['x-webauth-user']).toBeUndefined();
    expect(JSON.stringify(sent)).not.toContain(OTHER_COOKIE);
  });

  it('no session cookie: 401 without asking Grafana, nothing counted', async () => {
    const u = uid('no-cookie');
    const { result, auth, requests, after } = await measured(c.url, async () => [
      await post({ uid: u }),
      await post({
        uid: u,
        headers: { cookie: `theme=dark; grafana_session_expiry=1795550000; other=${OTHER_COOKIE}` },
      }),
    ]);
    for (const answer of result) {
      expectRefused(answer, 401, RPC.UNAUTHENTICATED, /sign in to Grafana/);
    }
    expect(recorder.calls, 'calls to Grafana').toEqual([]);
    expect(seriesOf(after.samples, u)).toEqual([]);
    expect(auth).toEqual({ 'grafana-session/no_cookie': 2 });
    expect(requests).toEqual({ '401 auth_refused': 2 });
  });

  it.each([
    ['unknown to Grafana (401 auth.unauthorized)', undefined, 'unauthorized', /sign in again/],
    ['revoked (401 Token revoked)', 'revoked', 'revoked', /revoked this session/],
    ['of a deleted user (404)', 'deleted', 'user_not_found', /no longer exists/],
  ] as const)(
    'a session %s: 401, nothing counted, and the refusal is remembered',
    async (_, state, outcome, message) => {
      const session = token(outcome);
      if (state !== undefined) {
        grafana.tokens.set(session, state);
      }
      const u = uid(outcome);
      const { result, auth, requests, after } = await measured(c.url, async () => [
        await withCookie(session, u),
        await withCookie(session, u),
      ]);
      for (const answer of result) {
        expectRefused(answer, 401, RPC.UNAUTHENTICATED, message);
      }
      expect(
        grafana.calls.get(session),
        'Grafana calls for the cookie (the second answer comes from the negative cache)'
      ).toBe(1);
      expect(seriesOf(after.samples, u)).toEqual([]);
      expect(auth).toEqual({ [`grafana-session/${outcome}`]: 2 });
      expect(requests).toEqual({ '401 auth_refused': 2 });
    }
  );

  it('a session due for rotation that was verified before: 200 (rotating_cached), still counted as its user', async () => {
    const session = token('rotating-known');
    grafana.tokens.set(session, { user: ALICE });
    const u = uid('rotating-known');
    const { result, auth, after } = await measured(c.url, async () => {
      const first = await withCookie(session, u);
      grafana.tokens.set(session, 'rotate');
      await sleep(CACHE_TTL_SECONDS * 1000 + 200); // past the positive cache: Grafana is asked again and says "rotate"
      return [first, await withCookie(session, u)];
    });
    for (const answer of result) {
      expect(answer.status, answer.text).toBe(200);
    }
    expect(grafana.calls.get(session)).toBe(2);
    expect(auth).toEqual({ 'grafana-session/verified': 1, 'grafana-session/rotating_cached': 1 });
    expect(seriesOf(after.samples, u).map((s) => [s.labels.user_hash, s.value])).toEqual([[pseudonym('alice'), 2]]);
  });

  it('an unknown session due for rotation: 200 by default (rotating_unverified), counted without a user_hash', async () => {
    const session = token('rotating-unknown');
    grafana.tokens.set(session, 'rotate');
    const u = uid('rotating-unknown');
    const { result, auth, after } = await measured(c.url, () => withCookie(session, u));
    expect(result.status, result.text).toBe(200);
    expect(auth).toEqual({ 'grafana-session/rotating_unverified': 1 });
    expect(seriesOf(after.samples, u).map((s) => [s.labels.user_hash, s.value])).toEqual([[undefined, 1]]);
  });

  it('a service account (login sa-…): 403 by default, nothing counted', async () => {
    const session = token('robot');
    grafana.tokens.set(session, { user: ROBOT });
    const u = uid('robot');
    const { result, auth, requests, after } = await measured(c.url, () => withCookie(session, u));
    expectRefused(result, 403, RPC.PERMISSION_DENIED, /service accounts/);
    expect(seriesOf(after.samples, u)).toEqual([]);
    expect(auth).toEqual({ 'grafana-session/service_account_rejected': 1 });
    expect(requests).toEqual({ '403 auth_refused': 1 });
  });

  it.each([
    ['answers 500', (g: GrafanaStandIn) => g.setMode('error')],
    ['sits behind a proxy answering 502', (g: GrafanaStandIn) => g.setMode('bad-gateway')],
    [`is slower than timeoutMs (${TIMEOUT_MS} ms)`, (g: GrafanaStandIn) => g.setDelay(3 * TIMEOUT_MS)],
  ])(
    'Grafana %s: 503 with Retry-After, nothing counted; calls pause a second, then the same session is accepted',
    async (_, breakGrafana) => {
      const session = token('unavailable');
      grafana.tokens.set(session, { user: ALICE });
      const u = uid('unavailable');
      breakGrafana(grafana);
      const { result, auth, requests, after } = await measured(c.url, () => withCookie(session, u));
      expectRefused(result, 503, RPC.UNAVAILABLE, /cannot check the session with Grafana/);
      expect(result.headers['retry-after'], 'Retry-After is auth.grafana.retryAfterSeconds').toBe(
        String(RETRY_AFTER_SECONDS)
      );
      expect(result.ms, 'answered within about timeoutMs').toBeLessThan(2 * TIMEOUT_MS);
      expect(seriesOf(after.samples, u)).toEqual([]);
      expect(auth).toEqual({ 'grafana-session/grafana_unavailable': 1 });
      expect(requests).toEqual({ '503 auth_unavailable': 1 });

      grafana.setMode('up');
      grafana.setDelay(0);
      // Right after a failure the collector does not call Grafana again for a second (no stampede at a
      // Grafana that is down or restarting)…
      const calls = grafana.calls.get(session) ?? 0;
      const paused = await withCookie(session, u);
      expect(paused.status, `the retry within the pause: ${paused.text}`).toBe(503);
      expect(grafana.calls.get(session) ?? 0, 'no Grafana call within the pause').toBe(calls);
      // …and after it asks again.
      await sleep(1100);
      const retried = await withCookie(session, u);
      expect(retried.status, `the retry after Grafana recovered: ${retried.text}`).toBe(200);
    }
  );

  it('a burst of 200 concurrent exports with one cookie: one Grafana call; one more once the cache TTL has passed', async () => {
    const session = token('burst');
    grafana.tokens.set(session, { user: ALICE });
    grafana.setDelay(100);
    const u = uid('burst');
    const { result, auth, after } = await measured(c.url, async () => {
      const burst = await Promise.all(Array.from({ length: 200 }, () => withCookie(session, u)));
      expect(statuses(burst), 'statuses of the first burst').toEqual({ 200: 200 });
      expect(grafana.calls.get(session), 'Grafana calls for the first burst').toBe(1);
      await sleep(CACHE_TTL_SECONDS * 1000 + 200);
      return Promise.all(Array.from({ length: 50 }, () => withCookie(session, u)));
    });
    expect(statuses(result), 'statuses of the burst after the TTL').toEqual({ 200: 50 });
    expect(grafana.calls.get(session), 'Grafana calls after the TTL').toBe(2);
    expect(sumOf(after.samples, SESSIONS, { dashboard_uid: u })).toBe(250);
    // Requests that joined the call in flight are "verified" too; any later ones came from the cache.
    expect(
      Object.keys(auth).filter((key) => key !== 'grafana-session/cached' && key !== 'grafana-session/verified')
    ).toEqual([]);
    expect((auth['grafana-session/cached'] ?? 0) + (auth['grafana-session/verified'] ?? 0)).toBe(250);
  });

  it(`300 distinct garbage cookies at once: at most one Grafana call each, never more than maxConcurrentCalls (${MAX_CONCURRENT_CALLS}) at a time, the rest told to retry`, async () => {
    grafana.setDelay(50);
    const junk = Array.from({ length: 300 }, (_, i) => token(`junk${i}`));
    const u = uid('junk');
    const { result, auth, requests } = await measured(c.url, () =>
      Promise.all(junk.map((session) => post({ uid: u, headers: { cookie: `grafana_session=${session}` } })))
    );
    const refused = result.filter((a) => a.status === 401).length;
    const busy = result.filter((a) => a.status === 503);
    expect(refused + busy.length, `only 401 and 503 expected: ${JSON.stringify(statuses(result))}`).toBe(300);
    expect(busy.length, 'the cap on Grafana calls never came into play').toBeGreaterThan(0);
    for (const answer of busy) {
      expectRefused(answer, 503, RPC.UNAVAILABLE, /retry/);
      expect(answer.headers['retry-after']).toBe('1');
    }
    expect(
      Math.max(...junk.map((session) => grafana.calls.get(session) ?? 0)),
      'most Grafana calls for one cookie'
    ).toBe(1);
    expect(junk.filter((session) => grafana.calls.has(session)).length, 'cookies Grafana was asked about').toBe(
      refused
    );
    expect(grafana.maxConcurrent, 'Grafana calls at once').toBeLessThanOrEqual(MAX_CONCURRENT_CALLS);
    expect(auth).toEqual({ 'grafana-session/unauthorized': refused, 'grafana-session/grafana_busy': busy.length });
    expect(requests).toEqual({ '401 auth_refused': refused, '503 auth_unavailable': busy.length });

    // The refused cookies are remembered: sending them again costs Grafana nothing.
    const known = junk.filter((session) => grafana.calls.has(session));
    grafana.resetCounts();
    const again = await Promise.all(
      known.map((session) => post({ uid: u, headers: { cookie: `grafana_session=${session}` } }))
    );
    expect(statuses(again)).toEqual({ 401: known.length });
    expect(grafana.calls.size, 'Grafana calls for cookies refused a moment ago').toBe(0);
  });

  it('the keyed hash comes from the login Grafana verified: a payload claiming user.login "mallory" counts as alice, and no login reaches /metrics', async () => {
    const session = token('privacy');
    grafana.tokens.set(session, { user: ALICE });
    const u = uid('privacy');
    const answer = await post({
      uid: u,
      claimedLogin: 'mallory',
      headers: { cookie: browserCookie(session), 'x-webauth-user': 'mallory' },
    });
    expect(answer.status, answer.text).toBe(200);
    const { samples, text } = await counts(c.url);
    expect(seriesOf(samples, u).map((s) => [s.labels.user_hash, s.value])).toEqual([[pseudonym('alice'), 1]]);
    const mallory = pseudonym('mallory');
    expect(
      samples.filter((s) => Object.values(s.labels).includes(mallory)),
      "series with the hash of the payload's login"
    ).toEqual([]);
    for (const word of ['alice', 'mallory', 'Alice Example', mallory]) {
      expect(text.includes(word), `/metrics mentions ${word}`).toBe(false);
    }
  });

  describe('Origin and CORS', () => {
    it('a page on another origin: 403 before Grafana is asked, with no CORS headers', async () => {
      const session = token('evil');
      grafana.tokens.set(session, { user: ALICE });
      const u = uid('evil');
      const { result, auth, requests, after } = await measured(c.url, () =>
        withCookie(session, u, { origin: 'https://evil.example' })
      );
      expectRefused(result, 403, RPC.PERMISSION_DENIED, /"https:\/\/evil\.example" may not send here.*allowedOrigins/);
      expect(result.headers['access-control-allow-origin']).toBeUndefined();
      expect(grafana.calls.get(session), 'Grafana calls for the cookie').toBeUndefined();
      expect(recorder.calls).toEqual([]);
      expect(seriesOf(after.samples, u)).toEqual([]);
      expect(auth, 'no authorize decision is made').toEqual({});
      expect(requests).toEqual({ '403 forbidden_origin': 1 });
    });

    it('Origin: null (a sandboxed frame): 403', async () => {
      const session = token('null-origin');
      grafana.tokens.set(session, { user: ALICE });
      expectRefused(
        await withCookie(session, uid('null-origin'), { origin: 'null' }),
        403,
        RPC.PERMISSION_DENIED,
        /may not send here/
      );
      expect(recorder.calls).toEqual([]);
    });

    it('an origin in server.allowedOrigins: 200 with its exact origin echoed, credentials allowed, Vary: Origin', async () => {
      const session = token('allowed');
      grafana.tokens.set(session, { user: ALICE });
      const u = uid('allowed');
      const { result, after } = await measured(c.url, () => withCookie(session, u, { origin: ALLOWED_ORIGIN }));
      expect(result.status, result.text).toBe(200);
      expect(result.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
      expect(result.headers['access-control-allow-credentials']).toBe('true');
      expect(String(result.headers.vary).split(/\s*,\s*/)).toContain('Origin');
      expect(sumOf(after.samples, SESSIONS, { dashboard_uid: u })).toBe(1);
    });

    it('an allowed origin without a session: 401 the page can read (CORS headers on the refusal too)', async () => {
      const answer = await post({ uid: uid('allowed-401'), headers: { origin: ALLOWED_ORIGIN } });
      expectRefused(answer, 401, RPC.UNAUTHENTICATED, /sign in to Grafana/);
      expect(answer.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
      expect(answer.headers['access-control-allow-credentials']).toBe('true');
    });

    it('a preflight from an allowed origin: 204 with methods, headers and a Max-Age of at most 2 h, without asking Grafana', async () => {
      const { result, auth } = await measured(c.url, () =>
        post({
          uid: 'preflight',
          method: 'OPTIONS',
          noBody: true,
          headers: {
            origin: ALLOWED_ORIGIN,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'content-type',
          },
        })
      );
      expect(result.status, result.text).toBe(204);
      expect(result.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
      expect(result.headers['access-control-allow-credentials']).toBe('true');
      expect(String(result.headers['access-control-allow-methods']).split(/\s*,\s*/)).toContain('POST');
      expect(
        String(result.headers['access-control-allow-headers'])
          .toLowerCase()
          .split(/\s*,\s*/)
      ).toContain('content-type');
      const maxAge = Number(result.headers['access-control-max-age']);
      expect(maxAge, `Access-Control-Max-Age ${result.headers['access-control-max-age']}`).toBeGreaterThan(0);
      expect(maxAge).toBeLessThanOrEqual(7200);
      expect(recorder.calls).toEqual([]);
      expect(auth).toEqual({});
    });

    it('a preflight from another origin: 403 without CORS headers', async () => {
      const answer = await post({
        uid: 'preflight',
        method: 'OPTIONS',
        noBody: true,
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      });
      expect(answer.status, answer.text).toBe(403);
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    });

    it("the collector's own origin (same host, e.g. under Grafana's sub-path) is allowed", async () => {
      const session = token('same-origin');
      grafana.tokens.set(session, { user: ALICE });
      const answer = await withCookie(session, uid('same-origin'), { origin: c.url });
      expect(answer.status, answer.text).toBe(200);
    });

    it('behind a proxy: an Origin matching X-Forwarded-Host is allowed, one that does not is refused', async () => {
      const session = token('forwarded-host');
      grafana.tokens.set(session, { user: ALICE });
      const origin = 'https://grafana.internal.example';
      const proxied = { 'x-forwarded-proto': 'https' };
      const matching = await withCookie(session, uid('xfh'), {
        origin,
        ...proxied,
        'x-forwarded-host': 'grafana.internal.example',
      });
      expect(matching.status, matching.text).toBe(200);
      const other = await withCookie(session, uid('xfh'), {
        origin,
        ...proxied,
        'x-forwarded-host': 'grafana.other.example',
      });
      expectRefused(other, 403, RPC.PERMISSION_DENIED, /may not send here/);
    });

    it('the same host under another scheme is another origin: 403 for ftp:// and ws:// on it, and for https:// when the proxy says http', async () => {
      const session = token('scheme');
      grafana.tokens.set(session, { user: ALICE });
      const host = new URL(c.url).host;
      const u = uid('scheme');
      const { result, auth, requests } = await measured(c.url, async () => [
        await withCookie(session, u, { origin: `ftp://${host}` }),
        await withCookie(session, u, { origin: `ws://${host}` }),
        await withCookie(session, u, { origin: `https://${host}` }),
        await withCookie(session, u, {
          origin: 'https://grafana.internal.example',
          'x-forwarded-host': 'grafana.internal.example',
          'x-forwarded-proto': 'http',
        }),
      ]);
      for (const answer of result) {
        expectRefused(answer, 403, RPC.PERMISSION_DENIED, /may not send here.*X-Forwarded-Proto/);
      }
      expect(auth, 'no authorize decision is made').toEqual({});
      expect(requests).toEqual({ '403 forbidden_origin': 4 });
      expect(recorder.calls).toEqual([]);
    });

    it('an https page behind a TLS proxy that sends X-Forwarded-Proto: https is allowed', async () => {
      const session = token('scheme-https');
      grafana.tokens.set(session, { user: ALICE });
      const answer = await withCookie(session, uid('scheme-https'), {
        origin: 'https://grafana.internal.example',
        'x-forwarded-host': 'grafana.internal.example',
        'x-forwarded-proto': 'https',
      });
      expect(answer.status, answer.text).toBe(200);
    });
  });

  describe('order of the checks', () => {
    it('a request without a session is refused from its head alone: the 401 arrives before a byte of the body is sent', async () => {
      const { result, auth, requests } = await measured(c.url, () =>
        headWithoutBody(c.url, { 'content-type': 'application/json', 'content-length': '1000' })
      );
      expect(result.status, `answer head, if any:\n${result.head}`).toBe(401);
      expect(auth).toEqual({ 'grafana-session/no_cookie': 1 });
      expect(requests).toEqual({ '401 auth_refused': 1 });
    });

    it('a 1 MiB upload without a session: 401 (not 413), and the client can finish sending and read it', async () => {
      const upload = await uploadLargeBody(`${c.url}/v1/metrics`, { 'content-type': 'application/json' }, 1024 * 1024);
      expect(upload.status, `answer head:\n${upload.head}`).toBe(401);
      expect(upload.error, 'the connection was reset under the client').toBeUndefined();
    });
  });

  it('writes no session token, login or hash secret to its logs', () => {
    expectCleanLogs(c);
  });
});

describe('grafana-session mode with the lenient policies', () => {
  let grafana: GrafanaStandIn;
  let c: ConfiguredCollector;
  const withCookie = (session: string, dashboardUid: string) =>
    exportTo(c.url, { uid: dashboardUid, headers: { cookie: browserCookie(session) } });

  beforeAll(async () => {
    grafana = await startGrafanaStandIn();
    c = await spawnWithConfig({
      auth: {
        mode: 'grafana-session',
        grafana: {
          url: grafana.url,
          timeoutMs: TIMEOUT_MS,
          anonymous: 'accept',
          unverifiedRotation: 'reject',
          serviceAccounts: 'accept',
          whenUnavailable: 'accept',
        },
      },
      privacy: { hash: { enabled: true, secret: SECRET } },
    });
  });
  afterAll(async () => {
    await c?.stop();
    await grafana?.close();
  });
  beforeEach(() => {
    grafana.setMode('up');
    grafana.resetCounts();
  });

  it("anonymous: accept: an export without a session is counted, without asking Grafana and without believing the payload's login", async () => {
    const u = uid('anonymous');
    const { result, auth, after } = await measured(c.url, () => exportTo(c.url, { uid: u, claimedLogin: 'mallory' }));
    expect(result.status, result.text).toBe(200);
    expect(grafana.calls.size, 'calls to Grafana').toBe(0);
    expect(auth).toEqual({ 'grafana-session/anonymous_accepted': 1 });
    expect(seriesOf(after.samples, u).map((s) => [s.labels.user_hash, s.value])).toEqual([[undefined, 1]]);
  });

  it('unverifiedRotation: reject: an unknown session due for rotation gets 401', async () => {
    const session = token('rotating-strict');
    grafana.tokens.set(session, 'rotate');
    const u = uid('rotating-strict');
    const { result, auth, after } = await measured(c.url, () => withCookie(session, u));
    expectRefused(result, 401, RPC.UNAUTHENTICATED, /due for rotation/);
    expect(auth).toEqual({ 'grafana-session/rotating_rejected': 1 });
    expect(seriesOf(after.samples, u)).toEqual([]);
  });

  it("serviceAccounts: accept: a service account's export is counted", async () => {
    const session = token('robot-ok');
    grafana.tokens.set(session, { user: ROBOT });
    const u = uid('robot-ok');
    const { result, auth, after } = await measured(c.url, () => withCookie(session, u));
    expect(result.status, result.text).toBe(200);
    expect(auth).toEqual({ 'grafana-session/verified': 1 });
    expect(seriesOf(after.samples, u).map((s) => [s.labels.user_hash, s.value])).toEqual([[pseudonym(ROBOT.login), 1]]);
  });

  it.each(['error', 'bad-gateway'] as const)(
    'whenUnavailable: accept: Grafana in mode %s: 200, counted without a user_hash',
    async (mode) => {
      const session = token('unavailable-ok');
      grafana.tokens.set(session, { user: ALICE });
      grafana.setMode(mode);
      const u = uid('unavailable-ok');
      const { result, auth, after } = await measured(c.url, () => withCookie(session, u));
      expect(result.status, result.text).toBe(200);
      expect(auth).toEqual({ 'grafana-session/grafana_unavailable_accepted': 1 });
      expect(seriesOf(after.samples, u).map((s) => [s.labels.user_hash, s.value])).toEqual([[undefined, 1]]);
    }
  );
});

describe('grafana-session mode under a flood', () => {
  let grafana: GrafanaStandIn;
  let c: ConfiguredCollector;
  /** Small enough that the flood below would spend it in a moment, were it drawn on by requests without a valid session. */
  const MAIN_PER_SECOND = 50;
  const PER_ADDRESS = { maxRequestsPerSecond: 5, burst: 20 } as const;
  const post = (options: ExportOptions) => exportTo(c.url, options);

  beforeAll(async () => {
    grafana = await startGrafanaStandIn();
    c = await spawnWithConfig({
      auth: { grafana: { url: grafana.url, timeoutMs: TIMEOUT_MS } },
      admission: { maxRequestsPerSecond: MAIN_PER_SECOND, burst: MAIN_PER_SECOND, perAddress: PER_ADDRESS },
    });
  });
  afterAll(async () => {
    await c?.stop();
    await grafana?.close();
  });
  beforeEach(() => grafana.resetCounts());

  it("a flood of requests with no or random cookies does not make a signed-in user's export wait or fail", async () => {
    const session = token('flood-alice');
    grafana.tokens.set(session, { user: ALICE });
    const junk: string[] = [];
    const u = uid('flood');
    // The flood comes from 127.0.0.1 itself; alice through a proxy on loopback (trusted by default),
    // which names her address in X-Forwarded-For.
    const alice = { 'x-forwarded-for': '203.0.113.7', cookie: browserCookie(session) };
    const FLOOD = 600;
    const WORKERS = 16;
    const { result, requests } = await measured(c.url, async () => {
      const started = performance.now();
      let sent = 0;
      const flood: Answer[] = [];
      const worker = async (): Promise<void> => {
        while (sent < FLOOD) {
          const n = sent++;
          // Every other request with a cookie Grafana has never seen, the rest with none.
          if (n % 2 === 0) {
            junk.push(token(`flood${n}`));
          }
          const headers = n % 2 === 0 ? { cookie: `grafana_session=${junk.at(-1)!}` } : {};
          flood.push(await post({ uid: u, headers }));
        }
      };
      const flooding = Promise.all(Array.from({ length: WORKERS }, worker));
      const exports: Answer[] = [];
      let done = false;
      void flooding.then(() => (done = true));
      while (!done || exports.length < 5) {
        exports.push(await post({ uid: u, headers: alice }));
        await sleep(50);
      }
      await flooding;
      return { exports, flood, seconds: (performance.now() - started) / 1000 };
    });
    const { exports, flood, seconds } = result;
    expect(statuses(exports), "alice's exports").toEqual({ 200: exports.length });
    expect(Math.max(...exports.map((a) => a.ms)), "alice's slowest export, ms").toBeLessThan(1000);
    expect(statuses(flood)).toEqual({ 401: expect.any(Number), 429: expect.any(Number) });
    for (const refused of flood.filter((a) => a.status === 429)) {
      expect(refused.headers['retry-after']).toBe('1');
    }
    // Grafana heard only of what the flood's address budget let through: its burst, then its rate.
    const junkCalls = junk.filter((t) => grafana.calls.has(t)).length;
    expect(junkCalls, `Grafana calls for the flood's cookies in ${seconds.toFixed(1)} s`).toBeLessThanOrEqual(
      PER_ADDRESS.burst + Math.ceil(PER_ADDRESS.maxRequestsPerSecond * seconds) + 1
    );
    expect(requests['429 address_rate_limited'], 'flood requests turned away by their address budget').toBeGreaterThan(
      FLOOD / 2
    );
    expect(requests['429 rate_limited'], 'requests turned away by the main budget').toBeUndefined();
    expect(requests['200 ok']).toBe(exports.length);
  });
});

describe('grafana-session mode with stalled uploads, with the default budgets', () => {
  let grafana: GrafanaStandIn;
  let c: ConfiguredCollector;
  const BODY_IDLE_MS = 1500;
  const post = (options: ExportOptions) => exportTo(c.url, options);

  beforeAll(async () => {
    grafana = await startGrafanaStandIn();
    c = await spawnWithConfig({
      server: { bodyIdleTimeoutMs: BODY_IDLE_MS },
      auth: { grafana: { url: grafana.url, timeoutMs: TIMEOUT_MS } },
    });
  });
  afterAll(async () => {
    await c?.stop();
    await grafana?.close();
  });

  it("256 stalled uploads of one signed-in user do not stop another user's export, and are cut off after the body-idle timeout", async () => {
    const BOB: StandInUser = { id: 43, login: 'bob', name: 'Bob Example', email: 'bob@example.com', orgId: 1 };
    const [aliceSession, bobSession] = [token('stall-alice'), token('stall-bob')];
    grafana.tokens.set(aliceSession, { user: ALICE });
    grafana.tokens.set(bobSession, { user: BOB });
    const u = uid('stall');
    // Both signed in a moment ago, each from an address of their own: their sessions are in the cache.
    for (const [session, address] of [
      [aliceSession, '203.0.113.8'],
      [bobSession, '203.0.113.9'],
    ] as const) {
      expect(
        (await post({ uid: u, headers: { cookie: browserCookie(session), 'x-forwarded-for': address } })).status
      ).toBe(200);
    }

    const { result, requests } = await measured(c.url, async () => {
      const started = performance.now();
      const stalled = await Promise.all(
        Array.from({ length: 256 }, () =>
          stallUpload(c.url, {
            cookie: browserCookie(aliceSession),
            'content-type': 'application/json',
            'content-length': '60000',
          })
        )
      );
      // Past alice's 16 slots, her uploads are told to come back before their bodies are read.
      // Counted by status: on a loaded machine opening 256 sockets can outlast the body-idle timeout,
      // and the first uploads are cut off (408) before this looks.
      const refused = await pollUntil(
        async () => stalled.filter((s) => s.answer?.status === 429).length,
        (n) => n >= 240,
        3000,
        20
      );
      const bob = await post({ uid: u, headers: { cookie: browserCookie(bobSession) } });
      const cutOff = await Promise.all(stalled.map((s) => s.answered));
      const lastCut = Math.max(...cutOff.map((a) => a.at - started));
      for (const s of stalled) {
        s.socket.destroy();
      }
      return { refused, bob, cutOff, lastCut };
    });
    expect(result.refused).toBe(240);
    expect(result.bob.status, result.bob.text).toBe(200);
    expect(result.bob.ms, "bob's export, ms").toBeLessThan(1000);
    const answers: Record<string, number> = {};
    for (const a of result.cutOff) {
      answers[a.status] = (answers[a.status] ?? 0) + 1;
    }
    expect(answers).toEqual({ 408: 16, 429: 240 });
    for (const a of result.cutOff.filter((x) => x.status === 408)) {
      expect(a.head).toMatch(/\r\nconnection: close\r\n/i);
    }
    expect(result.lastCut, 'ms until the last stalled upload was cut off (requestTimeoutMs is 30 s)').toBeLessThan(
      BODY_IDLE_MS + 2000
    );
    expect(requests).toMatchObject({ '429 sender_too_many_in_flight': 240, '408 body_idle_timeout': 16, '200 ok': 1 });
    // Her slots are free again.
    expect((await post({ uid: u, headers: { cookie: browserCookie(aliceSession) } })).status).toBe(200);
  });
});

describe('proxy-header mode', () => {
  describe('trustedProxies [127.0.0.1], requireUser (default)', () => {
    let c: ConfiguredCollector;
    beforeAll(async () => {
      c = await spawnWithConfig({
        auth: { mode: 'proxy-header', proxyHeader: { trustedProxies: ['127.0.0.1'] } },
        privacy: { hash: { enabled: true, secret: SECRET } },
      });
    });
    afterAll(() => c?.stop());

    it("X-WEBAUTH-USER from the trusted proxy: 200, counted as that user, never as the payload's login", async () => {
      const u = uid('proxy-user');
      const { result, auth, after } = await measured(c.url, () =>
        exportTo(c.url, { uid: u, claimedLogin: 'mallory', headers: { 'x-webauth-user': 'alice' } })
      );
      expect(result.status, result.text).toBe(200);
      expect(auth).toEqual({ 'proxy-header/proxy_user': 1 });
      expect(seriesOf(after.samples, u).map((s) => [s.labels.user_hash, s.value])).toEqual([[pseudonym('alice'), 1]]);
      expect(after.text.includes('alice') || after.text.includes('mallory'), '/metrics mentions a login').toBe(false);
    });

    it('no X-WEBAUTH-USER from the trusted proxy: 401', async () => {
      const u = uid('proxy-no-user');
      const { result, auth, requests, after } = await measured(c.url, () => exportTo(c.url, { uid: u }));
      expectRefused(result, 401, RPC.UNAUTHENTICATED, /X-WEBAUTH-USER/);
      expect(auth).toEqual({ 'proxy-header/proxy_no_user': 1 });
      expect(requests).toEqual({ '401 auth_refused': 1 });
      expect(seriesOf(after.samples, u)).toEqual([]);
    });

    it('from 127.0.0.2, not a trusted proxy: 403 even with the header', async () => {
      const u = uid('proxy-untrusted');
      const { result, auth, after } = await measured(c.url, () =>
        exportTo(c.url, { uid: u, localAddress: '127.0.0.2', headers: { 'x-webauth-user': 'alice' } })
      );
      expectRefused(result, 403, RPC.PERMISSION_DENIED, /through the authenticating proxy/);
      expect(auth).toEqual({ 'proxy-header/untrusted_proxy': 1 });
      expect(seriesOf(after.samples, u)).toEqual([]);
    });

    it('two X-WEBAUTH-USER headers, or a comma in one: 401 ambiguous_user, never one login "alice, mallory"', async () => {
      const u = uid('proxy-ambiguous');
      const { result, auth, requests, after } = await measured(c.url, async () => [
        await exportTo(c.url, { uid: u, headers: { 'x-webauth-user': ['alice', 'mallory'] } }),
        await exportTo(c.url, { uid: u, headers: { 'x-webauth-user': 'alice, mallory' } }),
      ]);
      for (const answer of result) {
        expectRefused(answer, 401, RPC.UNAUTHENTICATED, /more than one X-WEBAUTH-USER/);
      }
      expect(auth).toEqual({ 'proxy-header/ambiguous_user': 2 });
      expect(requests).toEqual({ '401 auth_refused': 2 });
      expect(seriesOf(after.samples, u)).toEqual([]);
      expect(after.samples.filter((s) => s.labels.user_hash === pseudonym('alice, mallory'))).toEqual([]);
    });

    it('a page on another origin: 403 (the proxy attaches the login by itself, as a browser does a cookie)', async () => {
      const answer = await exportTo(c.url, {
        uid: uid('proxy-evil'),
        headers: { 'x-webauth-user': 'alice', origin: 'https://evil.example' },
      });
      expectRefused(answer, 403, RPC.PERMISSION_DENIED, /may not send here/);
    });
  });

  describe('trustedProxies [127.0.0.2], requireUser false', () => {
    let c: ConfiguredCollector;
    beforeAll(async () => {
      c = await spawnWithConfig({
        auth: { mode: 'proxy-header', proxyHeader: { trustedProxies: ['127.0.0.2'], requireUser: false } },
      });
    });
    afterAll(() => c?.stop());

    it('a request from 127.0.0.1: 403 even with the header', async () => {
      const answer = await exportTo(c.url, { uid: uid('proxy-127.0.0.1'), headers: { 'x-webauth-user': 'alice' } });
      expectRefused(answer, 403, RPC.PERMISSION_DENIED, /through the authenticating proxy/);
    });

    it('requireUser false: a request from the trusted proxy without the header is counted', async () => {
      const u = uid('proxy-anonymous');
      const { result, auth, after } = await measured(c.url, () =>
        exportTo(c.url, { uid: u, localAddress: '127.0.0.2' })
      );
      expect(result.status, result.text).toBe(200);
      expect(auth).toEqual({ 'proxy-header/proxy_no_user': 1 });
      expect(sumOf(after.samples, SESSIONS, { dashboard_uid: u })).toBe(1);
    });
  });
});

describe('bearer mode (FOOTFALL_BEARER_TOKENS)', () => {
  const right = [token('bearer-right-one'), token('bearer-right-two')];
  const wrong = token('bearer-wrong-token');
  let c: ConfiguredCollector;
  beforeAll(async () => {
    c = await spawnWithConfig(
      { log: { level: 'trace' } },
      { env: { FOOTFALL_AUTH_MODE: 'bearer', FOOTFALL_BEARER_TOKENS: ` ${right[0]} , ${right[1]} ` } }
    );
  });
  afterAll(() => c?.stop());

  it('either configured token: 200, counted', async () => {
    const u = uid('bearer');
    const { result, auth, after } = await measured(c.url, () =>
      Promise.all(right.map((t) => exportTo(c.url, { uid: u, headers: { authorization: `Bearer ${t}` } })))
    );
    for (const answer of result) {
      expect(answer.status, answer.text).toBe(200);
    }
    expect(auth).toEqual({ 'bearer/token_accepted': 2 });
    expect(sumOf(after.samples, SESSIONS, { dashboard_uid: u })).toBe(2);
  });

  it('no token (a Grafana session cookie is no credential here): 401 with WWW-Authenticate: Bearer realm="footfall"', async () => {
    const u = uid('bearer-none');
    const { result, auth, requests, after } = await measured(c.url, () =>
      exportTo(c.url, { uid: u, headers: { cookie: browserCookie(token('bearer-cookie')) } })
    );
    expectRefused(result, 401, RPC.UNAUTHENTICATED, /Bearer token is required/);
    expect(result.headers['www-authenticate']).toBe('Bearer realm="footfall"');
    expect(auth).toEqual({ 'bearer/no_token': 1 });
    expect(requests).toEqual({ '401 auth_refused': 1 });
    expect(seriesOf(after.samples, u)).toEqual([]);
  });

  it('a wrong token: 401 with error="invalid_token"', async () => {
    const u = uid('bearer-wrong');
    const { result, auth, after } = await measured(c.url, () =>
      exportTo(c.url, { uid: u, headers: { authorization: `Bearer ${wrong}` } })
    );
    expectRefused(result, 401, RPC.UNAUTHENTICATED, /not valid/);
    expect(result.headers['www-authenticate']).toBe('Bearer realm="footfall", error="invalid_token"');
    expect(result.text).not.toContain(wrong);
    expect(auth).toEqual({ 'bearer/bad_token': 1 });
    expect(seriesOf(after.samples, u)).toEqual([]);
  });

  it('no token, right or wrong, in the logs', () => {
    expectCleanLogs(c, [...right, wrong]);
  });
});

describe('none mode', () => {
  it('refuses to start beyond loopback (--listen 0.0.0.0:0) without an auth configuration: exit code 2, naming auth.mode', async () => {
    // Not through spawnCollector: it adds --listen 127.0.0.1:0 and waits for a start that must not happen.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FOOTFALL_')));
    const child = spawn(process.execPath, [COLLECTOR_MAIN, '--listen', '0.0.0.0:0'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(killer);
    expect(code, `it started (or crashed) instead:\nstdout: ${stdout}\nstderr: ${stderr}`).toBe(2);
    expect(stderr).toMatch(/auth\.mode/);
    expect(stderr).toMatch(/0\.0\.0\.0/);
  });

  it('starts beyond loopback with auth.mode none and auth.none.allowNonLoopback: true, warns, and accepts exports without credentials', async () => {
    const c = await spawnWithConfig(
      { auth: { mode: 'none', none: { allowNonLoopback: true } } },
      { args: ['--listen', '0.0.0.0:0'] }
    );
    try {
      expect(c.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
      expect(
        c.output.some((line) => line.includes('"level":40') && line.includes('auth.mode is none')),
        `no warning logged:\n${c.output.join('\n')}`
      ).toBe(true);
      const loopback = c.url.replace('0.0.0.0', '127.0.0.1');
      const answer = await exportTo(loopback, { uid: uid('none-open') });
      expect(answer.status, answer.text).toBe(200);
    } finally {
      await c.stop();
    }
  });

  it('the quick start (no configuration, loopback): exports without credentials are counted', async () => {
    const c = await spawnCollector();
    try {
      const u = uid('quick-start');
      const { result, auth, after } = await measured(c.url, () => exportTo(c.url, { uid: u }));
      expect(result.status, result.text).toBe(200);
      expect(auth).toEqual({ 'none/unauthenticated': 1 });
      expect(sumOf(after.samples, SESSIONS, { dashboard_uid: u })).toBe(1);
    } finally {
      await c.stop();
    }
  });
});
