import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectorConfigInput } from '../packages/collector/src/index.ts';
import { createBrowser } from './support/browsers.ts';
import { startCollector, type RunningCollector } from './support/collector.ts';
import {
  duplicateSeries,
  invalidLabelNames,
  parseExposition,
  scrape,
  sumOf,
  type Sample,
} from './support/exposition.ts';
import {
  attrs,
  catalogBuckets,
  deltaHistogram,
  deltaSum,
  exportRequest,
  kv,
  type AttributeValue,
  type JsonKeyValue,
  type JsonMetric,
} from './support/otlp.ts';
import { checkMetrics } from './support/prometheus.ts';
import { postJson, rejectedPoints } from './support/requests.ts';

/**
 * `promtool check metrics` (Prometheus 2.42) on the collector's /metrics after normal and hostile
 * traffic, plus the checks promtool does not make: no two samples with the same series, no invalid
 * label name. A scrape that fails these loses data in Prometheus (a parse error fails the whole
 * scrape; a duplicate series silently drops a sample).
 */

const SESSIONS = 'grafana.dashboard.sessions';
const ENGAGED = 'grafana.dashboard.engaged_time';
const SESSION_DURATION = 'grafana.dashboard.session.duration';
const QUERY_DURATION = 'grafana.dashboard.query.duration';

/** promtool's verdict on an exposition, with its output in the failure message. */
function expectPromtoolAccepts(text: string): void {
  const result = checkMetrics(text);
  expect(
    result.code,
    `promtool check metrics exited ${result.code}:\n${result.output}\n--- exposition ---\n${text}`
  ).toBe(0);
}

function expectNoDuplicateSeries(samples: readonly Sample[]): void {
  expect(duplicateSeries(samples), 'samples on /metrics that Prometheus reads as one series').toEqual([]);
}

/** Samples named `name` having each of `labels` among their label pairs (a repeated label name matches on any of its values). */
function seriesWith(samples: readonly Sample[], name: string, labels: Record<string, string>): Sample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.pairs.some(([n, x]) => n === k && x === v))
  );
}

async function post(url: string, metrics: JsonMetric[], resource: JsonKeyValue[] = []): Promise<void> {
  const res = await postJson(url, exportRequest(metrics, resource));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(rejectedPoints(res), JSON.stringify(res.body)).toBe(0);
}

describe('the checks used here', () => {
  it('fail on the faults they look for', () => {
    // An invalid label name is a parse error for promtool and for Prometheus.
    const badName = 'm_total{1a="x"} 1\n';
    expect(checkMetrics(badName).code).toBe(1);
    expect(invalidLabelNames(parseExposition(badName))).toHaveLength(1);
    // promtool 2.42 passes duplicates; our own check does not.
    const dups =
      '# HELP m_total m\n# TYPE m_total counter\nm_total{a=""} 1\nm_total 2\nm_total{b="\\n"} 3\nm_total{b="\\n"} 4\n';
    expect(checkMetrics(dups).code).toBe(0);
    expect(duplicateSeries(parseExposition(dups))).toHaveLength(2);
    expect(() => parseExposition('m_total{a="x} 1\n')).toThrow(/unterminated/);
  });
});

describe('promtool check metrics on /metrics (privacy lets personal keys through)', () => {
  let c: RunningCollector;
  beforeAll(async () => {
    c = await startCollector({ privacy: { deny: [] } });
  });
  afterAll(() => c.close());

  it('accepts /metrics after normal traffic from the OTel SDK (counters, both histograms, legacy series, folders)', async () => {
    const grafana = { 'grafana.host': 'grafana.example.com', 'grafana.env': 'prod' };
    const browsers = [
      createBrowser({ url: c.url, protocol: 'json', resource: grafana }),
      createBrowser({ url: c.url, protocol: 'protobuf', resource: grafana }),
    ];
    // A folder title is free text (quotes, slashes); the second browser sees the dashboard in the General folder.
    const FOLDER = 'Ops / "EU"';
    try {
      for (const [i, b] of browsers.entries()) {
        const dash = {
          'dashboard.uid': 'normal',
          'dashboard.name': 'Normal',
          'dashboard.timezone': 'utc',
          ...(i === 0 ? { 'dashboard.folder': FOLDER } : {}),
        };
        const role = { 'user.role': i === 0 ? 'Viewer' : 'Editor', 'user.login': `user${i}` };
        b.sessions.add(1, { ...dash, ...role });
        b.engagedTime.add(10, { ...dash, ...role, 'engagement.state': 'focused' });
        b.engagedTime.add(5, { ...dash, ...role, 'engagement.state': 'visible' });
        b.engagedTime.add(20, { ...dash, ...role, 'engagement.state': 'hidden' });
        b.heartbeats.add(3, { ...dash, 'user.role': role['user.role'] });
        b.sessionDuration.record(45, { ...dash, 'user.role': role['user.role'] });
        b.sessionDuration.record(4000, { ...dash, 'user.role': role['user.role'] });
        b.variableSelections.add(2, { ...dash, 'variable.name': 'host', 'variable.value': 'web-1' });
        b.timeRangeSelections.add(1, { ...dash, time_range: 'now-6h' });
        b.queries.add(7, { ...dash, 'datasource.type': 'prometheus' });
        b.queryErrors.add(1, { ...dash, 'datasource.type': 'prometheus' });
        b.queryDuration.record(0.2, { ...dash, 'datasource.type': 'prometheus' });
        b.queryDuration.record(12, { ...dash, 'datasource.type': 'prometheus' });
        await b.flush();
      }
    } finally {
      await Promise.all(browsers.map((b) => b.shutdown()));
    }

    const { text, samples } = await scrape(c.url);
    expectPromtoolAccepts(text);
    // The check covered the families that matter, with the numbers sent.
    const uid = { dashboard_uid: 'normal' };
    expect(sumOf(samples, 'grafana_analytics_sessions_total', uid)).toBe(2);
    expect(sumOf(samples, 'grafana_analytics_sessions_duration_seconds_total', uid)).toBe(30);
    expect(sumOf(samples, 'footfall_dashboard_engaged_seconds_total', uid)).toBe(70);
    expect(sumOf(samples, 'footfall_dashboard_heartbeats_total', uid)).toBe(6);
    expect(sumOf(samples, 'footfall_dashboard_session_duration_seconds_count', uid)).toBe(4);
    expect(sumOf(samples, 'footfall_dashboard_session_duration_seconds_bucket', { ...uid, le: '60' })).toBe(2);
    expect(sumOf(samples, 'footfall_dashboard_query_duration_seconds_count', uid)).toBe(4);
    expect(sumOf(samples, 'footfall_dashboard_query_duration_seconds_bucket', { ...uid, le: '0.25' })).toBe(2);
    expect(sumOf(samples, 'footfall_dashboard_query_errors_total', uid)).toBe(2);
    // The folder reaches its label intact; the General folder's series has no folder label at all.
    const sessions = samples.filter(
      (s) => s.name === 'grafana_analytics_sessions_total' && s.labels.dashboard_uid === 'normal'
    );
    expect(sessions.map((s) => s.labels.dashboard_folder ?? null).sort()).toEqual([FOLDER, null]);
    expect(
      sumOf(samples, 'footfall_dashboard_query_duration_seconds_count', { ...uid, dashboard_folder: FOLDER })
    ).toBe(2);
    expect(sumOf(samples, 'footfall_collector_points_refused_total')).toBe(0);
    expect(sumOf(samples, 'footfall_collector_requests_total', { code: '200', encoding: 'json' })).toBe(1);
    expect(sumOf(samples, 'footfall_collector_requests_total', { code: '200', encoding: 'protobuf' })).toBe(1);
  });

  it('accepts /metrics after hostile attribute keys', async () => {
    const { text: before } = await scrape(c.url);
    await post(
      c.url,
      [
        deltaSum(SESSIONS, [
          // Two keys that sanitise to the same label on one point: the first wins, nothing doubles.
          {
            value: 1,
            attributes: attrs([
              ['dashboard.uid', 'collide-first'],
              ['dashboard_uid', 'collide-second'],
              ['user.login', 'login-first'],
              ['user_login', 'login-second'],
              ['dashboard..name', 'name-first'],
              ['dashboard-name', 'name-second'],
            ]),
          },
          // Keys that start with a digit, are empty, all punctuation, unicode, spaces, `__` prefixes,
          // Prometheus' own label names.
          {
            value: 1,
            attributes: attrs([
              ['dashboard.uid', 'odd-keys'],
              ['1dashboard.uid', 'digit-1'],
              ['0', 'digit-2'],
              ['', 'empty-key'],
              ['...', 'dots-only'],
              ['__name__', 'dunder-name'],
              ['__dashboard_uid', 'dunder-uid'],
              ['dashbõard.uid', 'unicode-key'],
              ['📈', 'emoji-key'],
              [' dashboard.name ', 'spaced-key'],
              ['user role', 'Viewer'],
              ['le', 'le-key'],
              ['quantile', 'quantile-key'],
              ['job', 'job-key'],
              ['instance', 'instance-key'],
              ['otel_metric_overflow', 'true'],
              ['k'.repeat(200), 'long-key'],
            ]),
          },
          // The same key in resource and point attributes: the point's value wins.
          { value: 1, attributes: attrs([['dashboard.uid', 'from-point']]) },
        ]),
        deltaSum(ENGAGED, [
          {
            value: 4,
            attributes: attrs([
              ['dashboard.uid', 'odd-keys'],
              ['engagement.state', 'focused'],
              ['engagement_state', 'hidden'],
              ['2engagement.state', 'visible'],
              ['__engagement_state', 'hidden'],
            ]),
          },
        ]),
        deltaHistogram(SESSION_DURATION, [
          {
            observations: [5, 50],
            attributes: attrs([
              ['dashboard.uid', 'odd-keys'],
              ['le', '0.1'],
              ['dashboard_uid', 'collide-second'],
              ['9', 'digit'],
            ]),
          },
        ]),
      ],
      attrs([
        ['dashboard.uid', 'from-resource'],
        ['grafana.host', 'resource-host'],
        ['__grafana_host', 'dunder-resource'],
        ['1grafana.env', 'digit-resource'],
      ])
    );

    const { text, samples } = await scrape(c.url);
    expect(text).not.toBe(before);
    expectPromtoolAccepts(text);

    const first = seriesWith(samples, 'grafana_analytics_sessions_total', { dashboard_uid: 'collide-first' });
    expect(first.map((s) => s.labels)).toEqual([
      {
        dashboard_uid: 'collide-first',
        user_login: 'login-first',
        dashboard_name: 'name-first',
        grafana_host: 'resource-host',
      },
    ]);
    const fromPoint = seriesWith(samples, 'grafana_analytics_sessions_total', { dashboard_uid: 'from-point' });
    expect(fromPoint.map((s) => s.labels)).toEqual([{ dashboard_uid: 'from-point', grafana_host: 'resource-host' }]);
    // Values of the losing or undeclared keys appear nowhere.
    for (const lost of [
      'collide-second',
      'login-second',
      'name-second',
      'dunder-name',
      'le-key',
      'job-key',
      'from-resource',
      'dunder-resource',
    ]) {
      expect(text, lost).not.toContain(lost);
    }
    expect(
      sumOf(samples, 'footfall_dashboard_engaged_seconds_total', {
        dashboard_uid: 'odd-keys',
        engagement_state: 'focused',
      })
    ).toBe(4);
    expect(sumOf(samples, 'grafana_analytics_sessions_duration_seconds_total', { dashboard_uid: 'odd-keys' })).toBe(4);
    expect(sumOf(samples, 'footfall_dashboard_session_duration_seconds_count', { dashboard_uid: 'odd-keys' })).toBe(2);
  });

  /** [label value sent, label value expected on /metrics]; each on its own dashboard uid. */
  const LONG = 'L'.repeat(300);
  const LONG_EMOJI = `${'e'.repeat(250)}${'📈'.repeat(10)}`;
  const HOSTILE_VALUES: ReadonlyArray<readonly [AttributeValue, string]> = [
    ['say "hi"', 'say "hi"'],
    ['C:\\path\\', 'C:\\path\\'],
    ['line one\nline two\n', 'line one\nline two\n'],
    ['\\n is not a newline', '\\n is not a newline'],
    ['crlf\r\ntab\tend', 'crlf\r\ntab\tend'],
    ['a",dashboard_uid="spoof', 'a",dashboard_uid="spoof'],
    ['}{=,', '}{=,'],
    ['# not a comment', '# not a comment'],
    ['Ünïcødé 中文 עברית 📈 e\u0301', 'Ünïcødé 中文 עברית 📈 e\u0301'],
    ['nul\u0000bell\u0007del\u007f', 'nul\u0000bell\u0007del\u007f'],
    ['', ''],
    [' ', ' '],
    [LONG, LONG.slice(0, 256)],
    [LONG_EMOJI, LONG_EMOJI.slice(0, 256)],
    [42, '42'],
    [-7, '-7'],
    [1.5, '1.5'],
    [true, 'true'],
    [false, 'false'],
  ];

  it('accepts /metrics after hostile attribute values, and each value reaches its label intact (or cut at 256)', async () => {
    const points = HOSTILE_VALUES.map(([sent], i) => ({
      value: 1,
      attributes: [kv('dashboard.uid', `v${i}`), kv('dashboard.name', sent)],
    }));
    await post(c.url, [
      deltaSum(SESSIONS, points),
      deltaSum(
        ENGAGED,
        points.map((p) => ({ value: 2, attributes: [...p.attributes, kv('engagement.state', 'visible')] }))
      ),
      deltaHistogram(
        QUERY_DURATION,
        points.map((p) => ({ observations: [0.3], attributes: p.attributes }))
      ),
    ]);
    const { text, samples } = await scrape(c.url);
    expectPromtoolAccepts(text);

    for (const [i, [sent, expected]] of HOSTILE_VALUES.entries()) {
      for (const name of [
        'grafana_analytics_sessions_total',
        'grafana_analytics_sessions_duration_seconds_total',
        'footfall_dashboard_query_duration_seconds_count',
      ]) {
        const found = seriesWith(samples, name, { dashboard_uid: `v${i}` });
        expect(
          found.map((s) => s.labels.dashboard_name ?? ''),
          `${name} for ${JSON.stringify(sent)}`
        ).toEqual([expected]);
      }
    }
  });

  it('cuts a long value at the cap without splitting a character (no U+FFFD in the label)', async () => {
    // 251 + 2 × 2 UTF-16 units, then the 256-unit cap falls inside the third emoji's surrogate pair.
    const sent = `${'e'.repeat(251)}${'📈'.repeat(10)}`;
    await post(c.url, [
      deltaSum(SESSIONS, [
        {
          value: 1,
          attributes: attrs([
            ['dashboard.uid', 'cut-long'],
            ['dashboard.name', sent],
          ]),
        },
      ]),
    ]);
    const { samples } = await scrape(c.url);
    const [exposed] = seriesWith(samples, 'grafana_analytics_sessions_total', { dashboard_uid: 'cut-long' });
    const name = exposed?.labels.dashboard_name;
    expect(name, exposed?.raw).toBeDefined();
    expect(sent.startsWith(name!), `exposed ${JSON.stringify(name!.slice(245))}, not a prefix of the value sent`).toBe(
      true
    );
    expect(name!.length).toBeGreaterThanOrEqual(251);
    expect([...name!].length).toBeLessThanOrEqual(256);
  });

  it('exposes no two samples with the same name and label set (Prometheus would drop one)', async () => {
    const { samples } = await scrape(c.url);
    expect(samples.length).toBeGreaterThan(100);
    expectNoDuplicateSeries(samples);
  });

  it('exposes only valid label names', async () => {
    const { text, samples } = await scrape(c.url);
    expect(samples.length).toBeGreaterThan(100);
    expect(invalidLabelNames(samples), text).toEqual([]);
    // promtool agrees on the accumulated exposition too.
    expectPromtoolAccepts(text);
  });
});

describe('series identity on /metrics', () => {
  let c: RunningCollector;
  beforeAll(async () => {
    c = await startCollector();
  });
  afterAll(() => c.close());

  it('does not expose an empty attribute value and a missing attribute as two series', async () => {
    // Prometheus ignores a label whose value is empty: m{dashboard_name=""} and m are one series.
    await post(c.url, [
      deltaSum(SESSIONS, [
        {
          value: 1,
          attributes: attrs([
            ['dashboard.uid', 'untitled'],
            ['dashboard.name', ''],
          ]),
        },
        { value: 1, attributes: attrs([['dashboard.uid', 'untitled']]) },
      ]),
    ]);
    const samples = seriesWith((await scrape(c.url)).samples, 'grafana_analytics_sessions_total', {
      dashboard_uid: 'untitled',
    });
    expectNoDuplicateSeries(samples);
    expect(samples.reduce((t, s) => t + s.value, 0)).toBe(2);
  });

  it('does not expose values that differ only in unpaired surrogates as two identical series', async () => {
    // JSON may carry lone surrogates ("\ud83d"); in UTF-8 every one of them becomes U+FFFD.
    await post(c.url, [
      deltaSum(SESSIONS, [
        {
          value: 1,
          attributes: attrs([
            ['dashboard.uid', 'cut'],
            ['dashboard.name', 'Revenue \ud83d'],
          ]),
        },
        {
          value: 1,
          attributes: attrs([
            ['dashboard.uid', 'cut'],
            ['dashboard.name', 'Revenue \ud83e'],
          ]),
        },
        {
          value: 1,
          attributes: attrs([
            ['dashboard.uid', 'cut'],
            ['dashboard.name', 'Revenue \ufffd'],
          ]),
        },
      ]),
    ]);
    const samples = seriesWith((await scrape(c.url)).samples, 'grafana_analytics_sessions_total', {
      dashboard_uid: 'cut',
    });
    expectNoDuplicateSeries(samples);
    expect(samples.reduce((t, s) => t + s.value, 0)).toBe(3);
  });

  it('keeps histogram series apart when a label value contains control characters', async () => {
    // Two different label sets: {dashboard_name: "n\u0002dashboard_uid\u0001u"} and
    // {dashboard_name: "n", dashboard_uid: "u"}. Each must keep its own count.
    await post(c.url, [
      deltaHistogram(SESSION_DURATION, [
        { observations: [5], attributes: attrs([['dashboard.name', 'n\u0002dashboard_uid\u0001u']]) },
        {
          observations: [5, 5],
          attributes: attrs([
            ['dashboard.name', 'n'],
            ['dashboard.uid', 'u'],
          ]),
        },
      ]),
    ]);
    const { samples } = await scrape(c.url);
    const counts = samples.filter((s) => s.name === 'footfall_dashboard_session_duration_seconds_count');
    expect(
      counts.map((s) => ({ labels: s.labels, count: s.value })),
      counts.map((s) => JSON.stringify(s.raw)).join('\n')
    ).toEqual(
      expect.arrayContaining([
        { labels: { dashboard_name: 'n\u0002dashboard_uid\u0001u' }, count: 1 },
        { labels: { dashboard_name: 'n', dashboard_uid: 'u' }, count: 2 },
      ])
    );
  });
});

describe('property: any mix of hostile keys and values gives an exposition Prometheus reads in full', () => {
  const DECLARED = [
    'dashboard.uid',
    'dashboard.name',
    'dashboard.timezone',
    'dashboard.folder',
    'grafana.host',
    'grafana.env',
    'user.role',
    'user.theme',
    'user.locale',
    'user.login',
    'user.name',
    'engagement.state',
    'datasource.type',
    'variable.name',
    'variable.value',
    'time_range',
  ];
  /** Single characters that stress sanitising and escaping. */
  const piece = fc.oneof(
    fc.constantFrom(
      '"',
      '\\',
      '\n',
      '\r',
      ' ',
      '.',
      '_',
      '-',
      '=',
      ',',
      '{',
      '}',
      '#',
      '0',
      '9',
      '\u0000',
      '\u0001',
      '\u0002',
      'é',
      '📈',
      '\ud83d',
      '\udc00',
      '\ufffd'
    ),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 })
  );
  const hostileString = fc.string({ unit: piece, maxLength: 10 });
  const key = fc.oneof(
    fc.constantFrom(...DECLARED),
    // Spelling variants of declared keys: `_` for `.`, doubled separators, case, `__` and digit prefixes.
    fc
      .tuple(fc.constantFrom(...DECLARED), fc.constantFrom('_', '..', '__', '-', ' ', '.', 'ü'))
      .map(([k, sep]) => k.replace('.', sep)),
    fc.tuple(fc.constantFrom('__', '0', '9', ' ', '.'), fc.constantFrom(...DECLARED)).map(([p, k]) => p + k),
    fc.constantFrom(...DECLARED).map((k) => k.toUpperCase()),
    fc.constantFrom(
      '',
      '__name__',
      'le',
      'quantile',
      'job',
      'instance',
      'otel_metric_overflow',
      'user.hash',
      'exported_le'
    ),
    hostileString
  );
  const value: fc.Arbitrary<AttributeValue> = fc.oneof(
    { weight: 4, arbitrary: hostileString },
    { weight: 1, arbitrary: fc.string({ unit: piece, minLength: 250, maxLength: 300 }) },
    { weight: 1, arbitrary: fc.integer({ min: -1e6, max: 1e6 }) },
    { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }) },
    { weight: 1, arbitrary: fc.boolean() }
  );
  const attributeList = fc.array(fc.tuple(key, value), { maxLength: 6 });
  const point = fc.record({ value: fc.integer({ min: 0, max: 5 }), attributes: attributeList });
  const metric = fc.record({
    name: fc.constantFrom(SESSIONS, ENGAGED, SESSION_DURATION, 'grafana.dashboard.heartbeats'),
    points: fc.array(point, { minLength: 1, maxLength: 4 }),
  });
  const configs: CollectorConfigInput[] = [
    {},
    { privacy: { deny: [] } },
    { privacy: { mode: 'allow', allow: ['dashboard.uid', 'dashboard.name', 'user.login', 'engagement.state'] } },
    { privacy: { deny: [] }, limits: { maxSeriesPerMetric: 2, maxAttributesPerPoint: 3, maxValueLength: 8 } },
  ];
  const scenario = fc.record({
    config: fc.nat({ max: configs.length - 1 }),
    resource: attributeList,
    metrics: fc.array(metric, { minLength: 1, maxLength: 3 }),
  });

  function jsonMetric(m: {
    name: string;
    points: Array<{ value: number; attributes: Array<[string, AttributeValue]> }>;
  }): JsonMetric {
    if (m.name === SESSION_DURATION) {
      const bounds = catalogBuckets(SESSION_DURATION);
      return deltaHistogram(
        m.name,
        m.points.map((p) => ({
          observations: Array.from({ length: p.value }, (_, i) => bounds[i % bounds.length]! + 1),
          attributes: attrs(p.attributes),
        }))
      );
    }
    return deltaSum(
      m.name,
      m.points.map((p) => ({ value: p.value, attributes: attrs(p.attributes) }))
    );
  }

  const PROM_NAME: Record<string, string> = {
    [SESSIONS]: 'grafana_analytics_sessions_total',
    [ENGAGED]: 'footfall_dashboard_engaged_seconds_total',
    'grafana.dashboard.heartbeats': 'footfall_dashboard_heartbeats_total',
    [SESSION_DURATION]: 'footfall_dashboard_session_duration_seconds_count',
  };

  // A fixed number of runs, not as many as fit in a time budget: on a loaded machine a budget ran too
  // few to mean anything, and a count that depends on the machine's speed is not a test result.
  it(
    'promtool accepts it, no duplicate series, no invalid label name, no point lost (60 runs)',
    { timeout: 180_000 },
    async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(scenario, async (s) => {
          const collector = await startCollector(configs[s.config]!);
          try {
            const res = await postJson(collector.url, exportRequest(s.metrics.map(jsonMetric), attrs(s.resource)));
            expect(res.status, JSON.stringify(res.body)).toBe(200);
            expect(rejectedPoints(res), JSON.stringify(res.body)).toBe(0);
            const { text, samples } = await scrape(collector.url);
            expect(invalidLabelNames(samples), text).toEqual([]);
            expectNoDuplicateSeries(samples);
            // Every point counts somewhere: the exposition's totals equal what was sent.
            for (const name of new Set(s.metrics.map((m) => m.name))) {
              const sent = s.metrics
                .filter((m) => m.name === name)
                .flatMap((m) => m.points)
                .reduce((t, p) => t + p.value, 0);
              const exposed = samples.filter((x) => x.name === PROM_NAME[name]).reduce((t, x) => t + x.value, 0);
              expect(exposed, `${PROM_NAME[name]} in\n${text}`).toBe(sent);
            }
            // promtool costs a process start (~50 ms): run it on every fourth scenario.
            if (run++ % 4 === 0) {
              expectPromtoolAccepts(text);
            }
          } finally {
            await collector.close();
          }
        }),
        { numRuns: 60 }
      );
      expect(run).toBe(60);
    }
  );
});
