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
  /** Decides on a request from its headers and peer address only (the body is not read yet); never rejects. */
  authenticate(req: IncomingMessage): Promise<AuthDecision> | AuthDecision;
}
