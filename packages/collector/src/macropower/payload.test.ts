import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RequestError } from '../errors.ts';
import { unflatten } from './flat-keys.ts';
import { readPayload } from './payload.ts';
import { selectedVariables, timeRangeLabel } from './selections.ts';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
const body = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const EVERY = { allowList: undefined, recordText: false };

/** The 400 a body gets, or a failure if it is read. */
function refusal(value: unknown): RequestError {
  try {
    readPayload(body(value));
  } catch (err) {
    if (err instanceof RequestError) {
      return err;
    }
    throw err;
  }
  throw new Error('the body was read');
}

describe('readPayload', () => {
  it('reads a 2.x payload', () => {
    const p = readPayload(body(fixture('payload.json')));
    expect(p).toMatchObject({
      uuid: '6f1c2a8e-3b4d-4c5e-9f70-81a2b3c4d5e6',
      type: 'start',
      hasFocus: true,
      heartbeatInterval: 60,
      time: 1760021600,
      dashboard: { uid: 'ck-latency', name: 'Checkout latency', timeZone: 'utc' },
      grafana: { host: 'grafana.example.org:3000', env: 'production', version: '8.1.2' },
      user: { orgRole: 'Editor', lightTheme: true, timezone: 'Europe/Berlin', locale: 'de-DE' },
      timeRange: { from: 'now-6h', to: 'now' },
    });
  });

  it('reads the flatten option’s dotted keys and indexed arrays like the nested payload', () => {
    const flat = readPayload(body(fixture('flat-heartbeat.json')));
    expect(flat).toMatchObject({
      type: 'heartbeat',
      hasFocus: false,
      heartbeatInterval: 30,
      dashboard: { uid: 'node-exp', name: 'Node exporter', timeZone: 'browser' },
      grafana: { host: 'grafana.example.org', env: 'production' },
      user: { orgRole: 'Viewer', lightTheme: false, login: 'viewer1' },
      timeRange: { from: 'now-1h', to: 'now' },
    });
    expect(flat.variables).toEqual([
      { name: 'instance', type: 'query', values: ['node-1:9100', 'node-2:9100'] },
      { name: 'job', type: 'query', values: [] },
    ]);
  });

  it('a flattened key cannot reach an object prototype', () => {
    const p = readPayload(
      body({ type: 'start', uuid: 'u', '__proto__.polluted': 'yes', 'dashboard.__proto__.x': 1, 'dashboard.uid': 'd' })
    );
    expect(p.dashboard.uid).toBe('d');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a flattened key deeper than any the panel sends is left out, the keys beside it still read', () => {
    const deep = Array.from({ length: 30_000 }, () => 'a').join('.');
    const root = unflatten({
      type: 'start',
      uuid: 'u',
      [`dashboard.${deep}`]: 1,
      'dashboard.uid': 'd',
      'timeRange.raw.from._locale._config.week.dow': 1,
    });
    expect(Object.keys(root.dashboard as object)).toEqual(['uid']);
    const p = readPayload(
      body({
        type: 'start',
        uuid: 'u',
        'dashboard.uid': 'd',
        'timeRange.raw.from._locale._config.week.dow': 1,
        'timeRange.raw.to': 'now',
      })
    );
    expect(timeRangeLabel(p.timeRange.from, p.timeRange.to)).toBe('absolute');
  });

  it.each([
    ['an empty body', '', /empty/],
    ['not JSON', '{"type": "start", "user": {"login": "secret-login"', /not valid JSON/],
    ['a JSON array', [{ type: 'start' }], /not a JSON object/],
    ['a JSON string', '"start"', /not a JSON object/],
    ['null', 'null', /not a JSON object/],
    ['no type', { uuid: 'u' }, /type is missing/],
    ['an unknown type', { uuid: 'u', type: 'secret-type-value' }, /type is not start, heartbeat or end/],
    ['a type that is not a string', { uuid: 'u', type: 3 }, /type is not start, heartbeat or end/],
    ['a uuid that is not a string', { uuid: 42, type: 'start' }, /uuid is not a string/],
    ['a uuid longer than 128 characters', { uuid: 'x'.repeat(129), type: 'start' }, /longer than 128/],
  ])('%s: 400 with one line that repeats nothing from the body', (_what, value, message) => {
    const error = refusal(value);
    expect(error.status).toBe(400);
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/\n/);
    expect(error.message).not.toMatch(/secret|login|xxxx/);
  });

  it('fields of the wrong type read as missing, never as a failure', () => {
    const p = readPayload(
      body({
        type: 'heartbeat',
        uuid: 'u',
        hasFocus: 'yes',
        time: 'noon',
        options: 5,
        host: [],
        dashboard: { uid: 7 },
        user: null,
        variables: 'x',
        timeRange: 1,
      })
    );
    expect(p).toMatchObject({
      hasFocus: false,
      time: undefined,
      heartbeatInterval: undefined,
      dashboard: { uid: '' },
      variables: [],
      timeRange: { from: undefined },
    });
  });
});

describe('variables', () => {
  it('records choices: not constants, text boxes or Grafana’s own; $__all as sent', () => {
    const p = readPayload(body(fixture('payload.json')));
    expect([...selectedVariables(p.variables, EVERY)]).toEqual([
      ['datasource', ['Prometheus']],
      ['cluster', ['eu-1', 'us-2']],
      ['env', ['$__all']],
      ['filters', []],
    ]);
    expect([
      ...selectedVariables(p.variables, { allowList: new Set(['cluster', 'threshold']), recordText: true }),
    ]).toEqual([
      ['cluster', ['eu-1', 'us-2']],
      ['threshold', ['0.95']],
    ]);
  });

  it('non-string values: numbers and booleans as text, the rest skipped, nothing thrown', () => {
    const variables = [
      {
        name: 'n',
        label: '',
        type: 'custom',
        multi: true,
        values: [1, 2.5, true, null, { text: 'o' }, ['nested'], 'ok'],
      },
      { name: 'single', type: 'custom', values: 42 },
      { name: 'nothing', type: 'custom', values: null },
      { name: 7, type: 'custom', values: ['no name'] },
      { name: '__auto', type: 'interval', values: ['1m'] },
      'not a variable',
      null,
    ];
    const p = readPayload(body({ type: 'start', uuid: 'u', variables }));
    expect([...selectedVariables(p.variables, EVERY)]).toEqual([
      ['n', ['1', '2.5', 'true', 'ok']],
      ['single', ['42']],
      ['nothing', []],
    ]);
  });

  it('ad-hoc filters count by key, never by value', () => {
    const p = readPayload(
      body({
        type: 'start',
        uuid: 'u',
        variables: [
          {
            name: 'f',
            type: 'adhoc',
            values: ['job|=|secret-value', { key: 'pod', operator: '=', value: 'secret-pod' }, 'no-operator'],
          },
        ],
      })
    );
    expect([...selectedVariables(p.variables, EVERY)]).toEqual([['f', ['job', 'pod']]]);
  });

  it('caps names, values and counts like the browser', () => {
    const many = Array.from({ length: 30 }, (_, i) => ({
      name: `v${i}`,
      type: 'custom',
      values: Array.from({ length: 20 }, (_, j) => `${'x'.repeat(200)}${j}`),
    }));
    const selection = selectedVariables(
      readPayload(body({ type: 'start', uuid: 'u', variables: many })).variables,
      EVERY
    );
    expect(selection.size).toBe(25);
    expect(selection.get('v0')).toHaveLength(1); // every value is the same once cut to 128
    expect(selection.get('v0')![0]).toHaveLength(128);
  });
});

describe('time range', () => {
  it('relative ranges as written, anything fixed as absolute', () => {
    expect(timeRangeLabel('now-6h', 'now')).toBe('now-6h');
    expect(timeRangeLabel('now-7d', 'now-1d')).toBe('now-7d..now-1d');
    expect(timeRangeLabel('now/d', 'now/d')).toBe('now/d..now/d');
    expect(timeRangeLabel('2025-10-09T08:53:20.000Z', '2025-10-09T14:53:20.000Z')).toBe('absolute');
    expect(timeRangeLabel(1760000000000, 1760021600000)).toBe('absolute');
    // The flatten option spreads a date object over dotted keys: it comes back as an object.
    expect(timeRangeLabel({ _isAMomentObject: true }, 'now')).toBe('absolute');
    expect(timeRangeLabel(undefined, 'now')).toBe('');
  });
});
