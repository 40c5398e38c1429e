import { describe, expect, it } from 'vitest';
import { addressKey } from './address-key.ts';

describe('addressKey', () => {
  it('keeps an IPv4 address as it is', () => {
    expect(addressKey('192.0.2.1')).toBe('192.0.2.1');
  });

  it('takes the /64 of an IPv6 address, however it is written', () => {
    for (const spelling of [
      '2001:db8:1:2::1',
      '2001:0DB8:0001:0002:0:0:0:1',
      '2001:db8:1:2:aaaa:bbbb:cccc:dddd',
      '2001:db8:1:2::1%eth0',
    ]) {
      expect(addressKey(spelling), spelling).toBe('2001:db8:1:2::/64');
    }
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1:2:3:4')).toBe('fe80:0:0:0::/64');
    expect(addressKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(addressKey('1:2:3:4:5:6:192.0.2.1')).toBe('1:2:3:4::/64');
  });

  it('leaves what is no address alone (an unknown peer)', () => {
    expect(addressKey('')).toBe('');
  });
});
