import type { IncomingMessage } from 'node:http';

/** Who sent a request, as a party the collector trusts established it (never what the payload claims). */
export interface Identity {
  readonly login: string;
  readonly id?: number | undefined;
  readonly orgId?: number | undefined;
}

/** Every way an authentication can end; the `outcome` label of footfall_collector_auth_total. */
export type AuthOutcome =
  // grafana-session
  | 'verified'
  | 'cached'
  | 'rotating_cached'
  | 'rotating_unverified'
  | 'rotating_rejected'
  | 'no_cookie'
  | 'anonymous_accepted'
  | 'unauthorized'
  | 'revoked'
  | 'user_not_found'
  | 'service_account_rejected'
  | 'grafana_unavailable'
  | 'grafana_unavailable_accepted'
  | 'grafana_busy'
  // proxy-header
  | 'proxy_user'
  | 'proxy_no_user'
  | 'untrusted_proxy'
  | 'ambiguous_user'
  // bearer
  | 'token_accepted'
  | 'no_token'
  | 'bad_token'
  // none
  | 'unauthenticated';

export interface AuthAllowed {
  readonly allowed: true;
  readonly outcome: AuthOutcome;
  /** Undefined when the request is allowed without a verified identity (policy, or a mode without one). */
  readonly identity: Identity | undefined;
  /**
   * Who the request is from, as an opaque key for per-sender budgets (requests in flight, series):
   * `user:<SHA-256 of the verified login>`; `session:<SHA-256 of the session cookie>` for a session let
   * in without an identity; `addr:<client address>` for anonymous senders and a proxy's requests
   * without a user. Undefined for bearer and none, whose senders are servers or this machine. Never a
   * login or a cookie in clear, but not a secret pseudonym either (a login's SHA-256 is found by trying
   * logins): it stays inside the collector. See subject.ts.
   */
  readonly subject?: string | undefined;
}

export interface AuthRefused {
  readonly allowed: false;
  readonly outcome: AuthOutcome;
  /** 401: no or bad credentials; 403: credentials fine, sender not allowed; 503: cannot check now. */
  readonly status: 401 | 403 | 503;
  /** Said to the client; never carries a credential or an identity. */
  readonly message: string;
  readonly retryAfterSeconds?: number;
  /** WWW-Authenticate, for the modes that have a scheme. */
  readonly challenge?: string;
}

export type AuthDecision = AuthAllowed | AuthRefused;

/** The authorize stage: one per collector, chosen by auth.mode. */
export interface Authenticator {
  readonly mode: 'grafana-session' | 'proxy-header' | 'bearer' | 'none';
  /**
   * Whether requests carry their sender's identity checked by a trusted party. Then only that identity
   * feeds the privacy stage's keyed hash; a login in the payload is never believed.
   */
  readonly verifiesIdentity: boolean;
  /**
   * The decision, when it can be made at once without calling anyone (a cached answer, a missing or
   * malformed credential, a header from a trusted peer); undefined when authenticate() would have to
   * ask Grafana. The receive stage uses it to choose the budget a request draws on before that call.
   * Reads caches only: it changes nothing, and a decision it returns is final (no authenticate() follows).
   */
  peek(req: IncomingMessage, clientAddress: string): AuthDecision | undefined;
  /**
   * Decides on a request from its headers and peer address only (the body is not read yet); never
   * rejects. `clientAddress` is the sender's address as the receive stage worked it out (the peer, or
   * what a trusted proxy forwarded): the key of an anonymous sender's subject.
   */
  authenticate(req: IncomingMessage, clientAddress: string): Promise<AuthDecision> | AuthDecision;
}
