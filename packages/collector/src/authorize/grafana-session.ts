/**
 * Who is sending, according to Grafana: the browser's session cookie is forwarded (alone) to
 * `GET <grafana>/api/user`, and each of Grafana's answers is handled explicitly. Positive answers are
 * cached by a hash of the cookie, misses for the same cookie share one request (single-flight), and
 * refusals are cached briefly, so a burst of exports costs Grafana at most one call per cookie per TTL.
 * The collector never calls Grafana's token-rotation endpoint: rotating server-side would log the
 * user out of their browser.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { AuthDecision, AuthOutcome, AuthRefused, Authenticator, Identity } from './decision.js';
import { addressSubject, sessionSubject, userSubject } from './subject.js';

export interface GrafanaSessionSettings {
  /** Grafana's internal base URL, with its sub-path: `http://grafana:3000/grafana`. */
  readonly grafanaUrl: string;
  /** Grafana's `login_cookie_name`. */
  readonly cookieName: string;
  readonly timeoutMs: number;
  /** How long a positive answer is trusted without asking again (≤ 60 s). */
  readonly cacheTtlMs: number;
  /** How long a refusal is remembered, so a bad cookie cannot make every request a Grafana call. */
  readonly negativeTtlMs: number;
  /** How long a verified cookie is remembered for the token-rotation case. */
  readonly rememberMs: number;
  readonly maxEntries: number;
  /** A token due for rotation (401 `session.token.rotate`) whose cookie was never verified here. */
  readonly onRotatingUnknown: 'reject' | 'accept-unverified';
  /** Grafana down, slow or answering 5xx. */
  readonly onUnavailable: 'reject' | 'accept-unverified';
  /** Service-account logins (`sa-…`). */
  readonly serviceAccounts: 'reject' | 'accept';
  /** Requests without the session cookie: Grafana with anonymous access on. */
  readonly anonymous: 'reject' | 'accept';
  /** Calls to Grafana at once; past it a request gets 503 rather than another call. */
  readonly maxConcurrentCalls: number;
  /** Retry-After on the 503 sent when Grafana cannot answer. */
  readonly retryAfterSeconds: number;
  readonly fetch: typeof fetch;
  readonly now: () => number;
}

interface Remembered {
  readonly identity: Identity;
  /** userSubject(identity.login). */
  readonly subject: string;
  readonly verifiedAt: number;
}

/** A request's session as far as it can be known without asking Grafana. */
type LookUp =
  | { readonly settled: AuthDecision }
  | {
      readonly settled: undefined;
      readonly cookie: string;
      readonly key: string;
      readonly known: Remembered | undefined;
    };

type Answer =
  | { readonly kind: 'user'; readonly identity: Identity }
  | { readonly kind: 'rotate' | 'unauthorized' | 'revoked' | 'not_found' | 'unavailable' };

/** The value of one cookie in a `Cookie` header; undefined when it is absent or empty. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) {
    return undefined;
  }
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) {
      continue;
    }
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return value === '' ? undefined : value;
    }
  }
  return undefined;
}

function readIdentity(body: unknown): Identity | undefined {
  if (typeof body !== 'object' || body === null) {
    return undefined;
  }
  const b = body as Record<string, unknown>;
  if (typeof b.login !== 'string' || b.login === '') {
    return undefined;
  }
  return {
    login: b.login,
    id: typeof b.id === 'number' ? b.id : undefined,
    orgId: typeof b.orgId === 'number' ? b.orgId : undefined,
  };
}

/** Grafana's 401 bodies: `{"message":"Unauthorized","messageId":"auth.unauthorized"}`, `session.token.rotate`, or "Token revoked". */
function classify401(body: unknown): 'rotate' | 'unauthorized' | 'revoked' {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (b.messageId === 'session.token.rotate') {
    return 'rotate';
  }
  const error = (typeof b.error === 'object' && b.error !== null ? b.error : {}) as Record<string, unknown>;
  if (error.id === 'ERR_TOKEN_REVOKED' || b.message === 'Token revoked') {
    return 'revoked';
  }
  return 'unauthorized';
}

/** How long a failed call stops further calls: one probe wave a second while Grafana is down. */
const DOWN_PAUSE_MS = 1000;

export interface GrafanaSessionAuthorizer extends Authenticator {
  /** Decides on a request from its `Cookie` header (and, for an anonymous sender, its address); never rejects. */
  authorize(cookieHeader: string | undefined, clientAddress: string): Promise<AuthDecision>;
  /** Calls made to Grafana so far (for tests and the self-metric). */
  readonly grafanaCalls: number;
}

export function createGrafanaSessionAuthorizer(settings: GrafanaSessionSettings): GrafanaSessionAuthorizer {
  const base = settings.grafanaUrl.replace(/\/+$/, '');
  // The caches expire on the same clock as everything else here (an injected one in tests).
  const perf = { now: settings.now };
  const clock = { perf, ttlResolution: 0 };
  const remembered = new LRUCache<string, Remembered>({ max: settings.maxEntries, ...clock });
  const refused = new LRUCache<string, AuthDecision>({
    max: settings.maxEntries,
    ttl: settings.negativeTtlMs,
    ...clock,
  });
  const inFlight = new Map<string, Promise<Answer>>();
  let grafanaCalls = 0;
  /** Until when Grafana is taken to be down, after it failed to answer: no calls before then. */
  let downUntil = -Infinity;

  async function ask(cookie: string): Promise<Answer> {
    grafanaCalls += 1;
    try {
      const response = await settings.fetch(`${base}/api/user`, {
        headers: { Cookie: `${settings.cookieName}=${cookie}`, Accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(settings.timeoutMs),
      });
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      if (response.status === 200) {
        const identity = readIdentity(body);
        return identity ? { kind: 'user', identity } : { kind: 'unavailable' };
      }
      if (response.status === 401) {
        return { kind: classify401(body) };
      }
      if (response.status === 404) {
        return { kind: 'not_found' };
      }
      return { kind: 'unavailable' };
    } catch {
      // Timeout, refused connection, TLS failure: Grafana cannot say who this is right now.
      return { kind: 'unavailable' };
    }
  }

  /** undefined when Grafana already has maxConcurrentCalls calls from this collector in flight. */
  function askOnce(key: string, cookie: string): Promise<Answer> | undefined {
    const pending = inFlight.get(key);
    if (pending) {
      return pending;
    }
    if (inFlight.size >= settings.maxConcurrentCalls) {
      return undefined;
    }
    const call = ask(cookie).finally(() => inFlight.delete(key));
    inFlight.set(key, call);
    return call;
  }

  const MESSAGES: Partial<Record<AuthOutcome, string>> = {
    no_cookie: `no Grafana session: sign in to Grafana (the ${settings.cookieName} cookie is missing)`,
    unauthorized: 'Grafana does not recognise this session: sign in again',
    revoked: 'Grafana revoked this session: sign in again',
    user_not_found: "this session's Grafana user no longer exists",
    rotating_rejected: 'the Grafana session is due for rotation: open Grafana to refresh it',
    service_account_rejected: 'service accounts may not send usage data',
  };
  const reject = (outcome: AuthOutcome, status: 401 | 403): AuthRefused => ({
    allowed: false,
    outcome,
    status,
    message: MESSAGES[outcome] ?? 'not allowed',
  });
  const unavailable = (outcome: 'grafana_unavailable' | 'grafana_busy', retryAfterSeconds: number): AuthRefused => ({
    allowed: false,
    outcome,
    status: 503,
    message:
      outcome === 'grafana_busy'
        ? 'too many sessions to check at once: retry shortly'
        : 'cannot check the session with Grafana right now',
    retryAfterSeconds,
  });

  /** Allowed as a user Grafana verified; the subject is kept with the session, so a cache hit hashes nothing. */
  const asUser = (outcome: 'verified' | 'cached' | 'rotating_cached', known: Remembered): AuthDecision => ({
    allowed: true,
    outcome,
    identity: known.identity,
    subject: known.subject,
  });
  /** Allowed without an identity: the session itself is the sender. */
  const asSession = (outcome: 'rotating_unverified' | 'grafana_unavailable_accepted', key: string): AuthDecision => ({
    allowed: true,
    outcome,
    identity: undefined,
    subject: sessionSubject(key),
  });

  /** What the request and the caches say without a call: a decision, or the session Grafana has to be asked about. */
  function lookUp(cookieHeader: string | undefined, clientAddress: string): LookUp {
    const cookie = cookieValue(cookieHeader, settings.cookieName);
    if (cookie === undefined) {
      return {
        settled:
          settings.anonymous === 'accept'
            ? {
                allowed: true,
                outcome: 'anonymous_accepted',
                identity: undefined,
                subject: addressSubject(clientAddress),
              }
            : reject('no_cookie', 401),
      };
    }
    // Only a hash is kept: the cache must not become a store of live session tokens.
    const key = createHash('sha256').update(cookie).digest('base64url');
    const known = remembered.get(key);
    if (known && settings.now() - known.verifiedAt < settings.cacheTtlMs) {
      return { settled: asUser('cached', known) };
    }
    const refusal = refused.get(key);
    if (refusal) {
      return { settled: refusal };
    }
    return { settled: undefined, cookie, key, known };
  }

  async function authorize(cookieHeader: string | undefined, clientAddress: string): Promise<AuthDecision> {
    const look = lookUp(cookieHeader, clientAddress);
    if (look.settled) {
      return look.settled;
    }
    const { cookie, key, known } = look;
    const now = settings.now();

    // Grafana failed a moment ago: answer without another call, so an outage does not turn every
    // session's exports into a stampede of calls at a Grafana that is down or restarting.
    if (now < downUntil) {
      return whenUnavailable(key);
    }
    const call = askOnce(key, cookie);
    if (call === undefined) {
      return unavailable('grafana_busy', 1);
    }
    const answer = await call;
    switch (answer.kind) {
      case 'user': {
        if (answer.identity.login.startsWith('sa-') && settings.serviceAccounts === 'reject') {
          const decision = reject('service_account_rejected', 403);
          refused.set(key, decision);
          return decision;
        }
        const verified: Remembered = {
          identity: answer.identity,
          subject: userSubject(answer.identity.login),
          verifiedAt: settings.now(),
        };
        remembered.set(key, verified, { ttl: settings.rememberMs });
        return asUser('verified', verified);
      }
      case 'rotate':
        // Grafana found the token, unexpired and not revoked, before refusing it as due for rotation
        // (the browser rotates it when the user is next active): it is a real session.
        if (known && now - known.verifiedAt < settings.rememberMs) {
          return asUser('rotating_cached', known);
        }
        if (settings.onRotatingUnknown === 'accept-unverified') {
          return asSession('rotating_unverified', key);
        }
        return reject('rotating_rejected', 401);
      case 'unauthorized':
      case 'revoked':
      case 'not_found': {
        remembered.delete(key);
        const decision = reject(answer.kind === 'not_found' ? 'user_not_found' : answer.kind, 401);
        refused.set(key, decision);
        return decision;
      }
      case 'unavailable':
        downUntil = Math.max(downUntil, settings.now() + DOWN_PAUSE_MS);
        return whenUnavailable(key);
    }
  }

  function whenUnavailable(key: string): AuthDecision {
    if (settings.onUnavailable === 'accept-unverified') {
      return asSession('grafana_unavailable_accepted', key);
    }
    return unavailable('grafana_unavailable', settings.retryAfterSeconds);
  }

  return {
    mode: 'grafana-session',
    verifiesIdentity: true,
    get grafanaCalls() {
      return grafanaCalls;
    },
    authorize,
    // Only what the caches already hold: an unknown cookie is left to authenticate(), which asks Grafana.
    peek: (req: IncomingMessage, clientAddress: string) => lookUp(req.headers.cookie, clientAddress).settled,
    authenticate: (req: IncomingMessage, clientAddress: string) => authorize(req.headers.cookie, clientAddress),
  };
}
