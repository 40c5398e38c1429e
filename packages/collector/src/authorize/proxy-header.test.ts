import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createProxyHeaderAuthenticator } from './proxy-header.ts';
import { addressSubject, userSubject } from './subject.ts';

/** A request as Node hands it over: `headers` joins a repeated header with ", ", `headersDistinct` keeps each. */
function from(remoteAddress: string, headers: Record<string, string | string[]> = {}): IncomingMessage {
  const distinct = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
  const joined = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));
  return { socket: { remoteAddress }, headers: joined, headersDistinct: distinct } as unknown as IncomingMessage;
}

const CLIENT = '203.0.113.5';

describe('proxy-header authenticator', () => {
  const auth = createProxyHeaderAuthenticator({
    trustedProxies: ['10.0.0.0/8', '::1'],
    userHeader: 'X-WEBAUTH-USER',
    requireUser: true,
  });

  it('takes the user from a trusted proxy, IPv4 (also as a dual-stack mapped address) and IPv6', () => {
    for (const peer of ['10.1.2.3', '::ffff:10.1.2.3', '::1']) {
      expect(auth.authenticate(from(peer, { 'x-webauth-user': ' alice ' }), CLIENT)).toEqual({
        allowed: true,
        outcome: 'proxy_user',
        identity: { login: 'alice' },
        subject: userSubject('alice'),
      });
    }
  });

  it('keys the sender by a hash of the login, never the login itself', () => {
    const subject = userSubject('alice');
    expect(subject).toMatch(/^user:[\w-]{43}$/);
    expect(subject).not.toContain('alice');
    expect(userSubject('bob')).not.toBe(subject);
  });

  it('refuses the same header from anyone else', () => {
    for (const peer of ['11.0.0.1', '127.0.0.1', '::ffff:192.168.0.1', '::2', '']) {
      expect(auth.authenticate(from(peer, { 'x-webauth-user': 'alice' }), CLIENT)).toMatchObject({
        allowed: false,
        outcome: 'untrusted_proxy',
        status: 403,
      });
    }
  });

  it('refuses a trusted proxy request without a user, unless told not to; then the sender is its client address', () => {
    expect(auth.authenticate(from('10.0.0.1'), CLIENT)).toMatchObject({
      allowed: false,
      outcome: 'proxy_no_user',
      status: 401,
    });
    expect(auth.authenticate(from('10.0.0.1', { 'x-webauth-user': '  ' }), CLIENT)).toMatchObject({
      allowed: false,
      status: 401,
    });
    const lenient = createProxyHeaderAuthenticator({
      trustedProxies: ['10.0.0.1'],
      userHeader: 'X-User',
      requireUser: false,
    });
    expect(lenient.authenticate(from('10.0.0.1'), CLIENT)).toEqual({
      allowed: true,
      outcome: 'proxy_no_user',
      identity: undefined,
      subject: addressSubject(CLIENT),
    });
  });

  it('refuses two identity headers, or a comma in one, instead of joining them into one login ("alice, mallory")', () => {
    for (const value of [['alice', 'mallory'], ['alice', 'alice'], 'alice, mallory', 'alice,mallory']) {
      const decision = auth.authenticate(from('10.0.0.1', { 'x-webauth-user': value }), CLIENT);
      expect(decision, JSON.stringify(value)).toMatchObject({ allowed: false, outcome: 'ambiguous_user', status: 401 });
      expect(JSON.stringify(decision)).not.toMatch(/alice|mallory/);
    }
  });

  it('decides without calling anyone: peek gives the same decision', () => {
    for (const req of [
      from('10.0.0.1', { 'x-webauth-user': 'alice' }),
      from('11.0.0.1', { 'x-webauth-user': 'alice' }),
      from('10.0.0.1'),
    ]) {
      expect(auth.peek(req, CLIENT)).toEqual(auth.authenticate(req, CLIENT));
    }
  });
});
