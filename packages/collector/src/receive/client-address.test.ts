import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createClientAddress } from './client-address.ts';

const from = (remoteAddress: string, forwardedFor?: string | string[]) =>
  ({
    socket: { remoteAddress },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  }) as unknown as IncomingMessage;

describe('client address', () => {
  const clientOf = createClientAddress({ trustedProxies: ['127.0.0.0/8', '::1', '10.0.0.0/8'] });

  it('is the peer when the peer is no trusted proxy, whatever X-Forwarded-For says', () => {
    expect(clientOf(from('203.0.113.5', '198.51.100.1'))).toBe('203.0.113.5');
    expect(clientOf(from('::ffff:203.0.113.5', '198.51.100.1'))).toBe('203.0.113.5');
  });

  it('is the peer when a trusted proxy forwards nothing', () => {
    expect(clientOf(from('10.1.2.3'))).toBe('10.1.2.3');
  });

  it('is the right-most forwarded address that is not a trusted proxy: what the client says to the left is never believed', () => {
    expect(clientOf(from('10.1.2.3', '203.0.113.5'))).toBe('203.0.113.5');
    expect(clientOf(from('10.1.2.3', '198.51.100.1, 203.0.113.5'))).toBe('203.0.113.5');
    expect(clientOf(from('127.0.0.1', '198.51.100.1, 203.0.113.5, 10.9.9.9'))).toBe('203.0.113.5');
    // Two headers, as Node keeps them: one list in order.
    expect(clientOf(from('::1', ['198.51.100.1', '203.0.113.5, 10.9.9.9']))).toBe('203.0.113.5');
  });

  it('reads addresses with a port, in brackets or IPv4-mapped', () => {
    expect(clientOf(from('10.1.2.3', '203.0.113.5:51234'))).toBe('203.0.113.5');
    expect(clientOf(from('10.1.2.3', '[2001:DB8::5]:443'))).toBe('2001:db8::5');
    expect(clientOf(from('10.1.2.3', '::ffff:203.0.113.5'))).toBe('203.0.113.5');
  });

  it('stops at the last address known when an entry is none (a proxy writing "unknown")', () => {
    expect(clientOf(from('10.1.2.3', '198.51.100.1, unknown'))).toBe('10.1.2.3');
    expect(clientOf(from('10.1.2.3', 'unknown, 10.4.4.4'))).toBe('10.4.4.4');
  });

  it('is the left-most address when every hop is a trusted proxy (a client on the private network itself)', () => {
    expect(clientOf(from('10.1.2.3', '10.7.7.7, 10.4.4.4'))).toBe('10.7.7.7');
  });

  it('with no trusted proxies, is always the peer', () => {
    expect(createClientAddress({ trustedProxies: [] })(from('127.0.0.1', '203.0.113.5'))).toBe('127.0.0.1');
  });
});
