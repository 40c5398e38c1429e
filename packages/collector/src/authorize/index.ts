import { Agent, fetch as undiciFetch } from 'undici';
import type { CollectorConfig } from '../config/index.js';
import { caBundle } from '../tls.js';
import { createBearerAuthenticator } from './bearer.js';
import type { Authenticator } from './decision.js';
import { createGrafanaSessionAuthorizer } from './grafana-session.js';
import { createProxyHeaderAuthenticator } from './proxy-header.js';

export { createBearerAuthenticator } from './bearer.js';
export type { BearerSettings } from './bearer.js';
export type { AuthAllowed, AuthDecision, AuthOutcome, AuthRefused, Authenticator, Identity } from './decision.js';
export { cookieValue, createGrafanaSessionAuthorizer } from './grafana-session.js';
export type { GrafanaSessionAuthorizer, GrafanaSessionSettings } from './grafana-session.js';
export { addressList, createProxyHeaderAuthenticator, peerAddress } from './proxy-header.js';
export type { ProxyHeaderSettings } from './proxy-header.js';
export { addressSubject, sessionSubject, userSubject } from './subject.js';

/** Accepts everyone; the config only allows it on loopback unless forced. */
export const NO_AUTH: Authenticator = {
  mode: 'none',
  verifiesIdentity: false,
  // No subject: `none` serves this machine (loopback), with no sender to tell from another.
  peek: () => ({ allowed: true, outcome: 'unauthenticated', identity: undefined }),
  authenticate: () => ({ allowed: true, outcome: 'unauthenticated', identity: undefined }),
};

/** The authorize stage for the configured auth.mode. Throws at construction when the CA file cannot be read. */
export function createAuthenticator(config: CollectorConfig['auth']): Authenticator {
  switch (config.mode) {
    case 'none':
      return NO_AUTH;
    case 'bearer':
      return createBearerAuthenticator({ tokens: config.bearer.tokens });
    case 'proxy-header':
      return createProxyHeaderAuthenticator(config.proxyHeader);
    case 'grafana-session': {
      const grafana = config.grafana;
      return createGrafanaSessionAuthorizer({
        grafanaUrl: grafana.url!,
        cookieName: grafana.cookieName,
        timeoutMs: grafana.timeoutMs,
        cacheTtlMs: grafana.cacheTtlSeconds * 1000,
        negativeTtlMs: grafana.negativeCacheTtlSeconds * 1000,
        rememberMs: grafana.rotationGraceSeconds * 1000,
        maxEntries: grafana.maxCachedSessions,
        maxConcurrentCalls: grafana.maxConcurrentCalls,
        onRotatingUnknown: grafana.unverifiedRotation === 'accept' ? 'accept-unverified' : 'reject',
        onUnavailable: grafana.whenUnavailable === 'accept' ? 'accept-unverified' : 'reject',
        serviceAccounts: grafana.serviceAccounts,
        anonymous: grafana.anonymous,
        retryAfterSeconds: grafana.retryAfterSeconds,
        fetch: grafanaFetch(grafana.tls),
        now: () => performance.now(),
      });
    }
  }
}

/** fetch with Grafana's TLS settings: an extra CA beside the system's, or (for testing only) no verification. */
export function grafanaFetch(tls: CollectorConfig['auth']['grafana']['tls']): typeof fetch {
  const ca = caBundle(tls.caFile, 'auth.grafana.tls.caFile');
  const dispatcher = new Agent({
    connect: { ca, rejectUnauthorized: !tls.insecureSkipVerify },
    keepAliveTimeout: 30_000,
  });
  // undici's fetch is Node's own fetch, here with a dispatcher that carries the TLS options.
  return ((input: string, init?: RequestInit) =>
    undiciFetch(input, { ...(init as object), dispatcher })) as unknown as typeof fetch;
}
