import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createOriginPolicy } from './origin.ts';

const request = (headers: Record<string, string>, socket: { encrypted?: boolean } = {}) =>
  ({ headers, socket }) as unknown as IncomingMessage;
const GRAFANA = 'https://grafana.example.com';

describe('origin policy', () => {
  const strict = createOriginPolicy({ allowedOrigins: [GRAFANA], enforce: true });

  it('lets requests without Origin through: servers and scripts, not browsers', () => {
    expect(strict.check(request({ host: 'collector:4318' }))).toEqual({ allowed: true });
  });

  it('allows an allow-listed origin, echoing it for CORS', () => {
    expect(strict.check(request({ origin: GRAFANA, host: 'collector:4318' }))).toEqual({
      allowed: true,
      corsOrigin: GRAFANA,
    });
    expect(strict.corsHeaders(GRAFANA)).toEqual({
      'Access-Control-Allow-Origin': GRAFANA,
      'Access-Control-Allow-Credentials': 'true',
      'Access-Control-Expose-Headers': 'Retry-After',
      Vary: 'Origin',
    });
  });

  it("allows a page on the collector's own origin: host as Host or X-Forwarded-Host, scheme as X-Forwarded-Proto or the socket's", () => {
    expect(strict.check(request({ origin: 'http://dash.example.org', host: 'dash.example.org' }))).toEqual({
      allowed: true,
    });
    expect(
      strict.check(request({ origin: 'https://dash.example.org', host: 'dash.example.org' }, { encrypted: true }))
    ).toEqual({ allowed: true });
    expect(
      strict.check(
        request({
          origin: 'https://dash.example.org',
          host: '127.0.0.1:4318',
          'x-forwarded-host': 'Dash.Example.org, proxy',
          'x-forwarded-proto': 'HTTPS, http',
        })
      )
    ).toEqual({ allowed: true });
  });

  it('refuses the same host under another scheme', () => {
    const sameHost = { host: 'dash.example.org:8443', 'x-forwarded-host': 'dash.example.org:8443' };
    for (const origin of [
      'ftp://dash.example.org:8443',
      'http://dash.example.org:8443',
      'ws://dash.example.org:8443',
    ]) {
      expect(strict.check(request({ origin, ...sameHost, 'x-forwarded-proto': 'https' })), origin).toEqual({
        allowed: false,
        origin,
      });
    }
    // A TLS-terminating proxy that says the browser used http: an https page is another origin.
    expect(
      strict.check(request({ origin: 'https://dash.example.org:8443', ...sameHost, 'x-forwarded-proto': 'http' }))
    ).toEqual({
      allowed: false,
      origin: 'https://dash.example.org:8443',
    });
    // Without X-Forwarded-Proto, a plain socket means http.
    expect(strict.check(request({ origin: 'https://dash.example.org:8443', ...sameHost }))).toMatchObject({
      allowed: false,
    });
  });

  it('refuses any other origin, a look-alike and the null origin', () => {
    for (const origin of [
      'https://evil.example',
      'https://grafana.example.com.evil.example',
      'http://grafana.example.com',
      'null',
    ]) {
      expect(strict.check(request({ origin, host: 'collector:4318' }))).toEqual({ allowed: false, origin });
    }
  });

  it('does not refuse foreign origins where no ambient credential is at stake (none, bearer)', () => {
    const lax = createOriginPolicy({ allowedOrigins: [], enforce: false });
    expect(lax.check(request({ origin: 'https://evil.example', host: 'collector:4318' }))).toEqual({ allowed: true });
  });

  it('preflights are cacheable for at most 2 h and name only what the panel sends', () => {
    expect(strict.preflightHeaders()).toEqual({
      'Access-Control-Allow-Methods': 'POST',
      'Access-Control-Allow-Headers': 'Content-Type, Content-Encoding, Authorization',
      'Access-Control-Max-Age': '7200',
    });
  });
});
