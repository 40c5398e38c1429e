import { describe, expect, test } from 'vitest';
import { dateMath, dateTime } from '@grafana/data';
import { ABSOLUTE_TIME_RANGE } from './names.ts';
import { changedVariables, MAX_VARIABLES, parseAllowList, rawTimeText, timeRangeLabel, variablesFromModels, variablesFromSearch } from './selections.ts';

/** Grafana's own parser says the end is relative to now (and valid). */
const grafanaRelative = (text: string) => dateMath.isMathString(text) && dateMath.isValid(text);

describe('timeRangeLabel', () => {
  test.each([
    ['now-6h', 'now', 'now-6h'],
    ['now-30d', 'now', 'now-30d'],
    ['now/d', 'now', 'now/d'],
    ['now-7d', 'now-1d', 'now-7d..now-1d'],
    ['now-1w/w', 'now-1w/w', 'now-1w/w..now-1w/w'],
    ['now-1y/y', 'now-1y/y', 'now-1y/y..now-1y/y'],
    [' now-1h ', 'now', 'now-1h'],
  ])('%s → %s is relative: %s', (from, to, label) => {
    expect(grafanaRelative(from.trim()) && grafanaRelative(to.trim())).toBe(true);
    expect(timeRangeLabel(from, to)).toBe(label);
  });

  test.each([
    ['1767225600000', '1767312000000'],
    ['2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z'],
    ['now-6h', '1767312000000'],
    ['nowhere', 'now'],
  ])('%s → %s is absolute', (from, to) => {
    expect(timeRangeLabel(from, to)).toBe(ABSOLUTE_TIME_RANGE);
  });

  // Grafana's time picker offers these quick ranges itself ("This fiscal quarter so far", "Previous
  // fiscal quarter", "This fiscal year"): quarter (Q) and fiscal (/fQ, /fy) units.
  test("Grafana's own quick ranges with quarters and fiscal periods are relative", () => {
    const quickRanges: Array<[string, string]> = [
      ['now/fQ', 'now'], // This fiscal quarter so far
      ['now/fQ', 'now/fQ'], // This fiscal quarter
      ['now-1Q/fQ', 'now-1Q/fQ'], // Previous fiscal quarter
      ['now/fy', 'now'], // This fiscal year so far
      ['now/fy', 'now/fy'], // This fiscal year
      ['now-1Q', 'now'],
    ];
    for (const [from, to] of quickRanges) {
      expect(grafanaRelative(from) && grafanaRelative(to), `${from} → ${to}`).toBe(true);
      expect(timeRangeLabel(from, to), `${from} → ${to}`).not.toBe(ABSOLUTE_TIME_RANGE);
    }
  });
});

describe('rawTimeText', () => {
  test('strings as they are; a date object (an absolute range) as "absolute"; nothing as nothing', () => {
    expect(rawTimeText('now-6h')).toBe('now-6h');
    expect(rawTimeText(dateTime(Date.UTC(2026, 0, 1)))).toBe(ABSOLUTE_TIME_RANGE);
    expect(rawTimeText(undefined)).toBe('');
  });
});

describe('variables', () => {
  test('parseAllowList: commas or spaces, an optional $; empty allows all', () => {
    expect(parseAllowList('$region, host  env')).toEqual(new Set(['region', 'host', 'env']));
    expect(parseAllowList('  ,  ')).toBeUndefined();
  });

  test('from the URL: var-* only, values as strings, at most 25 variables', () => {
    const search: Record<string, unknown> = { orgId: '1', from: 'now-6h', 'var-a': 'x', 'var-n': 5, 'var-b': true, 'var-f': { key: 'k' } };
    for (let i = 0; i < 40; i++) search[`var-v${i}`] = `${i}`;
    const selection = variablesFromSearch(search, undefined);
    expect(selection.get('a')).toEqual(['x']);
    expect(selection.get('n')).toEqual(['5']);
    expect(selection.get('b')).toEqual(['true']);
    expect(selection.get('f')).toEqual([]);
    expect(selection.has('orgId')).toBe(false);
    expect(selection.size).toBe(MAX_VARIABLES);
  });

  test('from template variable models: current.value, repeated values once', () => {
    const selection = variablesFromModels(
      [
        { name: 'host', current: { value: ['a', 'b', 'a'] } },
        { name: 'env', current: { value: 'prod' } },
        { name: '__interval', current: { value: '1m' } },
        { name: 'broken', current: null },
        { current: { value: 'nameless' } },
      ],
      undefined,
    );
    expect([...selection]).toEqual([
      ['host', ['a', 'b']],
      ['env', ['prod']],
      ['broken', []],
    ]);
  });

  test('changedVariables: new and changed ones, not the same again', () => {
    const before = new Map([
      ['a', ['1']],
      ['b', ['x', 'y']],
    ]);
    const after = new Map([
      ['a', ['1']],
      ['b', ['y', 'x']],
      ['c', ['z']],
    ]);
    expect([...changedVariables(before, after).keys()]).toEqual(['b', 'c']);
  });
});
