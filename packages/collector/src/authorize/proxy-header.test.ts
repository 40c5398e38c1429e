import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createProxyHeaderAuthenticator } from './proxy-header.ts';

const from = (remoteAddress: string, headers: Record<string, string> = {}) =>
  ({ socket: { remoteAddress }, headers }) as unknown as IncomingMessage;

describe('proxy-header authenticator', () => {
  const auth = createProxyHeaderAuthenticator({ trustedProxies: ['10.0.0.0/8', '::1'], userHeader: 'X-WEBAUTH-USER', requireUser: true });

  it('takes the user from a trusted proxy, IPv4 (also as a dual-stack mapped address) and IPv6', () => {
    for (const peer of ['10.1.2.3', '::ffff:10.1.2.3', '::1']) {
      expect(auth.authenticate(from(peer, { 'x-webauth-user': ' alice ' }))).toEqual({ allowed: true, outcome: 'proxy_user', identity: { login: 'alice' } });
    }
  });

  it('refuses the same header from anyone else', () => {
    for (const peer of ['11.0.0.1', '127.0.0.1', '::ffff:192.168.0.1', '::2', '']) {
      expect(auth.authenticate(from(peer, { 'x-webauth-user': 'alice' }))).toMatchObject({ allowed: false, outcome: 'untrusted_proxy', status: 403 });
    }
  });

  it('refuses a trusted proxy request without a user, unless told not to', () => {
    expect(auth.authenticate(from('10.0.0.1'))).toMatchObject({ allowed: false, outcome: 'proxy_no_user', status: 401 });
    expect(auth.authenticate(from('10.0.0.1', { 'x-webauth-user': '  ' }))).toMatchObject({ allowed: false, status: 401 });
    const lenient = createProxyHeaderAuthenticator({ trustedProxies: ['10.0.0.1'], userHeader: 'X-User', requireUser: false });
    expect(lenient.authenticate(from('10.0.0.1'))).toEqual({ allowed: true, outcome: 'proxy_no_user', identity: undefined });
  });
});
