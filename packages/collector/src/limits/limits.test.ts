import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IngestStats } from '../stats.ts';
import { createAttributeLimiter } from './attribute-limiter.ts';
import { labelName } from './label-name.ts';
import { createSenderBudget, UNLIMITED_BUDGET } from './sender-budget.ts';
import { createSeriesRegistry, OVERFLOW_ATTRIBUTES, seriesKey } from './series-registry.ts';

describe('labelName', () => {
  it.each([
    ['dashboard.uid', 'dashboard_uid'],
    ['user_login', 'user_login'],
    ['1abc', '_1abc'],
    ['a..b--c', 'a_b_c'],
    ['__name__', '_name_'],
    ['straße', 'stra_e'],
    ['le', 'exported_le'],
    ['otel.metric.overflow', 'exported_otel_metric_overflow'],
    ['', undefined],
    ['...', undefined],
  ])('%j → %j', (key, name) => {
    expect(labelName(key)).toBe(name);
  });

  it('gives valid Prometheus label names only', () => {
    for (const key of ['9', ' x ', '\n', 'ключ', 'a\u0000b', '"q"', '_1']) {
      const name = labelName(key);
      if (name !== undefined) {
        expect(name).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
      }
    }
  });
});

describe('attribute limiter', () => {
  const limiter = createAttributeLimiter({ maxAttributesPerPoint: 3, maxKeyLength: 10, maxValueLength: 5 });

  it('keeps one value per label name when keys collide after canonicalising', () => {
    const stats = new IngestStats();
    expect(
      limiter.canonicalize(
        [
          ['user.login', 'a'],
          ['user_login', 'b'],
        ],
        stats
      )
    ).toEqual({ user_login: 'a' });
    expect(stats.droppedAttributes.get('collision')).toBe(1);
  });

  it('stringifies values, truncates long ones, drops long keys and caps the count', () => {
    const stats = new IngestStats();
    const labels = limiter.apply(
      [
        ['n', 12],
        ['b', true],
        ['long', 'abcdefgh'],
        ['k'.repeat(11), 'x'],
        ['fourth', 'x'],
      ],
      {},
      new Set(['n', 'b', 'long', 'k'.repeat(11), 'fourth']),
      stats
    );
    expect(labels).toEqual({ n: '12', b: 'true', long: 'abcde' });
    expect(stats.droppedAttributes.get('value_truncated')).toBe(1);
    expect(stats.droppedAttributes.get('invalid_key')).toBe(1);
    expect(stats.droppedAttributes.get('too_many')).toBe(1);
  });

  it('drops empty values, which Prometheus cannot tell from a missing label', () => {
    const stats = new IngestStats();
    expect(
      limiter.canonicalize(
        [
          ['a', ''],
          ['b', 'x'],
        ],
        stats
      )
    ).toEqual({ b: 'x' });
    expect(stats.droppedAttributes.get('empty_value')).toBe(1);
  });

  it('makes values well-formed, so distinct values never print as the same label', () => {
    const labels = limiter.canonicalize([['a', 'x\ud83d']], new IngestStats());
    expect(labels.a).toBe('x\ufffd');
    expect(labels.a!.isWellFormed()).toBe(true);
  });

  it('never cuts a surrogate pair when truncating', () => {
    const labels = limiter.canonicalize([['a', 'abcd\u{1F4C8}z']], new IngestStats());
    expect(labels.a).toBe('abcd');
  });

  it('does not spend the per-point cap on resource attributes that are not declared', () => {
    const narrow = createAttributeLimiter({ maxAttributesPerPoint: 2, maxKeyLength: 64, maxValueLength: 64 });
    const resource = narrow.canonicalize(
      [
        ['a', '1'],
        ['b', '2'],
        ['c', '3'],
        ['d', '4'],
        ['grafana.host', 'g'],
      ],
      new IngestStats()
    );
    expect(
      narrow.apply([['dashboard.uid', 'd']], resource, new Set(['dashboard_uid', 'grafana_host']), new IngestStats())
    ).toEqual({
      dashboard_uid: 'd',
      grafana_host: 'g',
    });
  });

  it('keeps only declared labels and fills missing ones from the resource', () => {
    const stats = new IngestStats();
    const wide = createAttributeLimiter({ maxAttributesPerPoint: 8, maxKeyLength: 64, maxValueLength: 64 });
    const labels = wide.apply(
      [
        ['dashboard.uid', 'd1'],
        ['session.id', 's-123'],
      ],
      { grafana_host: 'g.example', service_name: 'browser', dashboard_uid: 'ignored' },
      new Set(['dashboard_uid', 'grafana_host']),
      stats
    );
    expect(labels).toEqual({ dashboard_uid: 'd1', grafana_host: 'g.example' });
    expect(stats.droppedAttributes.get('undeclared')).toBe(1);
  });
});

describe('series registry', () => {
  const registry = (max: number, idleExpiryMs = 1000, budget = UNLIMITED_BUDGET) =>
    createSeriesRegistry({ maxSeriesPerFamily: max, idleExpiryMs, budget });
  const one = (
    r: ReturnType<typeof registry>,
    family: string,
    labels: Record<string, string>,
    subject?: string,
    now = 0
  ) => r.admit([{ family, labels }], subject, now)?.[0];

  it("folds new series past the cap into the SDK's overflow series; known series keep counting", () => {
    const r = registry(2);
    expect(one(r, 'm', { d: '1' })?.overflow).toBe(false);
    expect(one(r, 'm', { d: '2' })?.overflow).toBe(false);
    const third = one(r, 'm', { d: '3' })!;
    expect(third.overflow).toBe(true);
    expect(third.attributes).toEqual(OVERFLOW_ATTRIBUTES);
    expect(third.attributes).toEqual({ 'otel.metric.overflow': true });
    expect(one(r, 'm', { d: '1' })?.overflow).toBe(false);
    expect(one(r, 'other', { d: '3' })?.overflow).toBe(false);
    // The overflow series takes no place under the cap.
    expect(r.sizes().get('m')).toBe(3);
  });

  it('cannot be fooled by separators inside values', () => {
    const r = registry(10);
    const a = one(r, 'm', { name: 'n\u0002uid\u0001u' })!;
    const b = one(r, 'm', { name: 'n', uid: 'u' })!;
    expect(a.key).not.toBe(b.key);
    expect(b.overflow).toBe(false);
  });

  it('gives two label sets one key only when they are the same set (any names, any values)', () => {
    const labelSet = fc.dictionary(
      fc.constantFrom('a', 'b', 'ab', '0', '1=', 'a:b', 'dashboard_uid'),
      fc.string({ maxLength: 6 }),
      { maxKeys: 4 }
    );
    fc.assert(
      fc.property(labelSet, labelSet, (x, y) => {
        const same = JSON.stringify(Object.entries(x).sort()) === JSON.stringify(Object.entries(y).sort());
        expect(seriesKey(x) === seriesKey(y)).toBe(same);
        // The same set in another order is the same key.
        expect(seriesKey(Object.fromEntries(Object.entries(x).reverse()))).toBe(seriesKey(x));
      }),
      { numRuns: 3000 }
    );
  });

  it('identifies a series by its label set, not by label order', () => {
    const r = registry(1);
    one(r, 'm', { a: '1', b: '2' });
    expect(one(r, 'm', { b: '2', a: '1' })?.overflow).toBe(false);
  });

  it('forgets series idle past the expiry, which frees their places', () => {
    const r = registry(1, 1000);
    one(r, 'm', { d: 'old' }, undefined, 0);
    expect(one(r, 'm', { d: 'new' }, undefined, 500)?.overflow).toBe(true);
    expect(r.expire(1500)).toBe(1); // the overflow series, touched at 500, stays
    expect(r.lastUpdated('m', { d: 'old' })).toBeUndefined();
    expect(one(r, 'm', { d: 'new' }, undefined, 1600)?.overflow).toBe(false);
  });

  it('charges the sender for new series only, and refuses all of a point when the budget cannot pay', () => {
    const r = registry(100, 1000, createSenderBudget({ perHour: 2, maxSenders: 10 }));
    expect(one(r, 'm', { d: '1' }, 'mallory')).toBeDefined();
    expect(
      r.admit(
        [
          { family: 'm', labels: { d: '2' } },
          { family: 'n', labels: { d: '2' } },
        ],
        'mallory',
        0
      )
    ).toBeUndefined();
    expect(r.lastUpdated('m', { d: '2' })).toBeUndefined();
    expect(one(r, 'm', { d: '2' }, 'mallory')).toBeDefined();
    expect(one(r, 'm', { d: '3' }, 'mallory')).toBeUndefined();
    expect(one(r, 'm', { d: '1' }, 'mallory')).toBeDefined();
    expect(one(r, 'm', { d: '3' }, 'alice')).toBeDefined();
    // Without a subject (bearer, none), only the cap applies.
    expect(one(r, 'm', { d: '4' })).toBeDefined();
  });
});

describe('sender budget', () => {
  it('refills evenly over the hour', () => {
    const budget = createSenderBudget({ perHour: 3600, maxSenders: 10 });
    expect(budget.take('a', 3600, 0)).toBe(true);
    expect(budget.take('a', 1, 0)).toBe(false);
    expect(budget.take('a', 10, 10_000)).toBe(true);
    expect(budget.take('a', 1, 10_000)).toBe(false);
  });
});
