import { describe, expect, test } from 'vitest';
import { DEFAULT_OPTIONS, resolveOptions, type FootfallOptions } from './settings.ts';

describe('resolveOptions', () => {
  test('a panel saved without options gets the defaults', () => {
    expect(resolveOptions(undefined)).toEqual(DEFAULT_OPTIONS);
    expect(resolveOptions(null)).toEqual(DEFAULT_OPTIONS);
    expect(resolveOptions({})).toEqual(DEFAULT_OPTIONS);
  });

  test('numbers typed as text are read; out-of-range ones are clamped; nonsense falls back', () => {
    const o = resolveOptions({
      heartbeatIntervalSeconds: '30',
      exportIntervalSeconds: 0,
      inactivityTimeoutMinutes: 1e9,
    } as unknown as Partial<FootfallOptions>);
    expect(o.heartbeatIntervalSeconds).toBe(30);
    expect(o.exportIntervalSeconds).toBe(1);
    expect(o.inactivityTimeoutMinutes).toBe(24 * 60);
    const nonsense = resolveOptions({
      heartbeatIntervalSeconds: 'often',
      exportIntervalSeconds: Number.NaN,
      inactivityTimeoutMinutes: null,
    } as unknown as Partial<FootfallOptions>);
    expect(nonsense.heartbeatIntervalSeconds).toBe(DEFAULT_OPTIONS.heartbeatIntervalSeconds);
    expect(nonsense.exportIntervalSeconds).toBe(DEFAULT_OPTIONS.exportIntervalSeconds);
    expect(nonsense.inactivityTimeoutMinutes).toBe(DEFAULT_OPTIONS.inactivityTimeoutMinutes);
  });

  test('switches are on only when true; the endpoint is trimmed', () => {
    const o = resolveOptions({
      sendIdentity: 'true',
      debug: 1,
      endpoint: '  https://c.example.com/v1/metrics ',
    } as unknown as Partial<FootfallOptions>);
    expect(o.sendIdentity).toBe(false);
    expect(o.debug).toBe(false);
    expect(o.endpoint).toBe('https://c.example.com/v1/metrics');
    expect(resolveOptions({ sendIdentity: true, debug: true })).toMatchObject({ sendIdentity: true, debug: true });
  });
});
