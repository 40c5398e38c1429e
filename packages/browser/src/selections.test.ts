import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { dateMath, dateTime } from '@grafana/data';
import { capText, MAX_VALUE_LENGTH } from './cap-text.ts';
import { ABSOLUTE_TIME_RANGE } from './names.ts';
import {
  changedVariables,
  MAX_VALUES_PER_VARIABLE,
  MAX_VARIABLES,
  parseAllowList,
  rawTimeText,
  timeRangeLabel,
  variableKinds,
  variablePolicy,
  variablesFromModels,
  variablesFromSearch,
  type VariableModel,
} from './selections.ts';

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

const DEFAULT = variablePolicy('');

describe('variables', () => {
  test('parseAllowList: commas or spaces, an optional $; empty allows all', () => {
    expect(parseAllowList('$region, host  env')).toEqual(new Set(['region', 'host', 'env']));
    expect(parseAllowList('  ,  ')).toBeUndefined();
  });

  test('from the URL: var-* only, values as strings, at most 25 variables', () => {
    const search: Record<string, unknown> = {
      orgId: '1',
      from: 'now-6h',
      'var-a': 'x',
      'var-n': 5,
      'var-b': true,
      'var-f': { key: 'k' },
    };
    for (let i = 0; i < 40; i++) {
      search[`var-v${i}`] = `${i}`;
    }
    const selection = variablesFromSearch(search, DEFAULT);
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
      DEFAULT
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

/**
 * An ad-hoc filter as Grafana writes it into `var-<name>`: Scenes joins key, operator and value(s)
 * with `|`, after escaping `|` as `__gfp__`, `#` as `__gfh__` and, within key and value, `,` as
 * `__gfc__` (a bare comma separates a label); filters a dashboard brought carry `#dashboard#restorable`.
 */
function urlFilter(f: {
  key: string;
  operator: string;
  values: readonly string[];
  keyLabel?: string;
  origin?: string;
}): string {
  const escape = (part: string) => part.replaceAll('|', '__gfp__').replaceAll('#', '__gfh__');
  const commas = (part: string) => part.replaceAll(',', '__gfc__');
  const key = f.keyLabel === undefined ? commas(f.key) : `${commas(f.key)},${commas(f.keyLabel)}`;
  const parts = [key, f.operator, ...(f.operator === 'groupBy' ? [] : f.values.map(commas))].map(escape);
  return parts.join('|') + (f.origin === undefined ? '' : `#${f.origin}#restorable`);
}

const OPERATORS = ['=', '!=', '=|', '!=|', '=~', '!~', '<', '<=', '>', '>=', 'groupBy'] as const;

describe('ad-hoc filters are recorded by their keys only', () => {
  test('from the URL, recognised by their shape: every operator, labels, origins, escaped delimiters', () => {
    const search = {
      'var-filters': [
        'trace_id|=|4bf92f3577b34da6a3ce929d0e0e4736',
        'user_email,User e-mail|=~|.*@example\\.com,anyone at example',
        'namespace|=__gfp__|checkout|payments',
        'pod__gfp__name|!=|web-1',
        'cluster|=|eu-1#dashboard#restorable',
        'service|groupBy#dashboard#restorable',
        'http__gfc__status|>=|500',
      ],
      'var-one': 'host|!~|db-.*',
    };
    const selection = variablesFromSearch(search, DEFAULT);
    expect(selection.get('filters')).toEqual([
      'trace_id',
      'user_email',
      'namespace',
      'pod|name',
      'cluster',
      'service',
      'http,status',
    ]);
    expect(selection.get('one')).toEqual(['host']);
  });

  test('a variable the template service calls ad hoc is read as one; values that are not filters are dropped', () => {
    const kinds = variableKinds([{ name: 'filters', type: 'adhoc', hide: 0, filters: [] }]);
    const selection = variablesFromSearch({ 'var-filters': ['env|=|prod', 'not a filter', ''] }, DEFAULT, kinds);
    expect(selection.get('filters')).toEqual(['env']);
    // And a value of another type that only looks like a filter is that variable's value.
    const custom = variableKinds([{ name: 'expr', type: 'custom', hide: 0 }]);
    expect(variablesFromSearch({ 'var-expr': 'a|=|b' }, DEFAULT, custom).get('expr')).toEqual(['a|=|b']);
  });

  test('from the template service: the keys of `filters`, at most MAX_VALUES_PER_VARIABLE', () => {
    const filters = Array.from({ length: 15 }, (_, i) => ({ key: `k${i % 12}`, operator: '=', value: `secret-${i}` }));
    const selection = variablesFromModels([{ name: 'Filters', type: 'adhoc', hide: 0, filters }], DEFAULT);
    expect(selection.get('Filters')).toEqual(Array.from({ length: MAX_VALUES_PER_VARIABLE }, (_, i) => `k${i}`));
  });

  test('property: whatever the filters, only their keys come out, each capped', () => {
    const text = fc.string({ unit: 'binary', maxLength: 200 }).filter((t) => !t.includes('__gf'));
    const filter = fc.record({
      key: text.filter((t) => t !== ''),
      operator: fc.constantFrom(...OPERATORS),
      values: fc.array(text, { minLength: 1, maxLength: 3 }),
      keyLabel: fc.option(text, { nil: undefined }),
      origin: fc.option(fc.constantFrom('dashboard', 'scope'), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(filter, { minLength: 1, maxLength: 15 }), fc.boolean(), (filters, typed) => {
        const keys = new Set(filters.map((f) => capText(f.key, MAX_VALUE_LENGTH)));
        const kinds = typed ? variableKinds([{ name: 'f', type: 'adhoc', hide: 0 }]) : undefined;
        const fromUrl = variablesFromSearch({ 'var-f': filters.map(urlFilter) }, DEFAULT, kinds).get('f');
        const fromModel = variablesFromModels(
          [
            {
              name: 'f',
              type: 'adhoc',
              hide: 0,
              filters: filters.map((f) => ({ key: f.key, operator: f.operator, value: f.values[0] })),
            },
          ],
          DEFAULT
        ).get('f');
        for (const recorded of [fromUrl ?? [], fromModel ?? []]) {
          // Plain checks: expect() in a loop of a few thousand runs would dominate the test's time.
          if (recorded.length === 0 || recorded.length > MAX_VALUES_PER_VARIABLE) {
            return false;
          }
          if (!recorded.every((v) => keys.has(v) && v.length <= MAX_VALUE_LENGTH)) {
            return false;
          }
        }
        return true;
      }),
      { numRuns: 100 }
    );
  });
});

describe('text, constant and hidden variables', () => {
  const models: VariableModel[] = [
    { name: 'env', type: 'custom', hide: 0, current: { value: 'prod' } },
    { name: 'note', type: 'textbox', hide: 0, current: { value: 'ticket 4711 for Jane Doe' } },
    { name: 'tenant', type: 'constant', hide: 2, current: { value: 'acme-prod-7' } },
    { name: 'shard', type: 'query', hide: 2, current: { value: 's-3' } },
    { name: 'region', type: 'query', hide: 1, current: { value: 'eu' } },
    { name: 'team', type: 'custom', hide: 3, current: { value: 'sre' } },
    { name: 'zone', type: 'query', hide: 'hideVariable', current: { value: 'z1' } },
  ];
  const search = {
    'var-env': 'prod',
    'var-note': 'ticket 4711 for Jane Doe',
    'var-tenant': 'acme-prod-7',
    'var-shard': 's-3',
    'var-region': 'eu',
    'var-team': 'sre',
    'var-zone': 'z1',
  };

  test('are not recorded by default, from the models or from the URL with their kinds; a hidden label still counts', () => {
    const expected = ['env', 'region', 'team'];
    expect([...variablesFromModels(models, DEFAULT).keys()]).toEqual(expected);
    expect([...variablesFromSearch(search, DEFAULT, variableKinds(models)).keys()]).toEqual(expected);
  });

  test('are recorded when the policy asks for them', () => {
    const text = variablePolicy('', { recordTextVariables: true });
    expect([...variablesFromModels(models, text).keys()]).toEqual(['env', 'note', 'region', 'team']);
    const hidden = variablePolicy('', { recordHiddenVariables: true });
    expect([...variablesFromSearch(search, hidden, variableKinds(models)).keys()]).toEqual([
      'env',
      'shard',
      'region',
      'team',
      'zone',
    ]);
    const both = variablePolicy('tenant note', { recordTextVariables: true, recordHiddenVariables: true });
    expect([...variablesFromModels(models, both)]).toEqual([
      ['note', ['ticket 4711 for Jane Doe']],
      ['tenant', ['acme-prod-7']],
    ]);
  });

  test('variableKinds reads only what it understands', () => {
    expect(variableKinds(undefined).size).toBe(0);
    expect([
      ...variableKinds([null, { name: 3 }, { name: 'a', type: 7 }, { name: 'b', type: 'adhoc', hide: 2 }]),
    ]).toEqual([
      ['a', { type: undefined, hide: undefined }],
      ['b', { type: 'adhoc', hide: 2 }],
    ]);
  });
});

describe('recorded strings are capped', () => {
  test('capText: at most max UTF-16 units, never half a surrogate pair', () => {
    expect(capText('short', 10)).toBe('short');
    expect(capText('exactly10!', 10)).toBe('exactly10!');
    expect(capText('a'.repeat(11), 10)).toBe('a'.repeat(10));
    // '😀' is two units: cut through it, it goes whole.
    expect(capText(`${'a'.repeat(9)}😀`, 10)).toBe('a'.repeat(9));
    expect(capText(`${'a'.repeat(8)}😀b`, 10)).toBe(`${'a'.repeat(8)}😀`);
  });

  test('capText property: a prefix, within max, as long as it can be without splitting a pair', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.integer({ min: 1, max: 150 }), (text, max) => {
        const cut = capText(text, max);
        expect(text.startsWith(cut)).toBe(true);
        expect(cut.length).toBeLessThanOrEqual(max);
        if (cut.length < text.length) {
          expect(cut.length).toBeGreaterThanOrEqual(max - 1);
          const before = cut.charCodeAt(cut.length - 1);
          const after = text.charCodeAt(cut.length);
          const splitsPair = before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
          expect(splitsPair).toBe(false);
        }
      })
    );
  });

  test('variable names and values from the URL and the models, within MAX_VALUE_LENGTH, the collector limit (256) well above', () => {
    expect(MAX_VALUE_LENGTH).toBeLessThan(256);
    const longName = `n${'x'.repeat(300)}`;
    const longValue = `v${'é'.repeat(300)}`;
    const fromUrl = variablesFromSearch({ [`var-${longName}`]: [longValue, `${longValue}2`] }, DEFAULT);
    const fromModels = variablesFromModels(
      [{ name: longName, type: 'custom', hide: 0, current: { value: [longValue] } }],
      DEFAULT
    );
    for (const selection of [fromUrl, fromModels]) {
      expect([...selection]).toEqual([[capText(longName, MAX_VALUE_LENGTH), [capText(longValue, MAX_VALUE_LENGTH)]]]);
    }
  });

  test('property: from any URL or models, no recorded name or value is longer than the cap, and the counts are bounded', () => {
    const text = fc.string({ unit: 'binary', maxLength: 400 });
    const value = fc.oneof(text, fc.array(text, { maxLength: 30 }), fc.integer(), fc.boolean());
    fc.assert(
      fc.property(fc.dictionary(text, value, { maxKeys: 40 }), (params) => {
        const search = Object.fromEntries(Object.entries(params).map(([k, v]) => [`var-${k}`, v]));
        const models = Object.entries(params).map(([name, v]) => ({
          name,
          type: 'custom',
          hide: 0,
          current: { value: v },
        }));
        return [variablesFromSearch(search, DEFAULT), variablesFromModels(models, DEFAULT)].every(
          (selection) =>
            selection.size <= MAX_VARIABLES &&
            [...selection].every(
              ([name, values]) =>
                name.length <= MAX_VALUE_LENGTH &&
                values.length <= MAX_VALUES_PER_VARIABLE &&
                values.every((v) => v.length <= MAX_VALUE_LENGTH)
            )
        );
      }),
      { numRuns: 200 }
    );
  });
});
