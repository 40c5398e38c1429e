/**
 * T9: personal data never leaves the collector. A property test against the collector run as users run
 * it (`node dist/main.js`, keyed hash on, logging at trace, a state file): random attribute sets on
 * catalog metrics, sent as OTLP JSON and protobuf, mixing in denied keys in any spelling, e-mail
 * addresses inside values, forged pseudonyms, and values full of quotes, backslashes, newlines, braces,
 * unicode and long runs. Every personal value carries a unique marker. After each request no sink may
 * hold a marker or an address, /metrics may have no label named after a denied key, every pseudonym on
 * it must be the keyed hash of a value sent under a hash-source key, and promtool must accept it with
 * no duplicate series (promtool 2.42 does not look for those: exposition.ts does).
 *
 * A negative control runs the same checks on a collector told to let personal data through, so a
 * search that finds nothing is known to be able to find something.
 */
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTR, METRIC_CATALOG, PERSONAL_KEYS } from '../packages/collector/src/index.ts';
import { spawnCollector, type CollectorProcess } from './support/collector-process.ts';
import { duplicateSeries, invalidLabelNames, parseExposition, sumOf, type Sample } from './support/exposition.ts';
import {
  deltaHistogram,
  deltaSum,
  exportRequest,
  kv,
  type AttributeValue,
  type ExportRequest,
  type JsonKeyValue,
  type JsonMetric,
} from './support/otlp.ts';
import { checkMetrics, pollUntil } from './support/prometheus.ts';
import {
  decodeJsonResponse,
  decodeProtobufResponse,
  loadOtlpTypes,
  send,
  toJson,
  toProtobuf,
} from './support/requests.ts';

const types = loadOtlpTypes();
const HASH_SECRET = randomBytes(24).toString('hex');
/** The collector's default hash sources (privacy.hash.from): their values become the pseudonym. */
const HASH_SOURCES = ['user.login', 'user.id', 'user.email'];

// ---------------------------------------------------------------------------------------------------
// Markers: every personal value contains one, so a leak is a plain substring search.

/** Random per test run, so no other text (an earlier run's data, a fixture) can look like a marker. */
const MARKER_PREFIX = `pii${randomBytes(4).toString('hex')}`;
/** Numeric personal values (user.id is often a number) are 15-digit integers from a random base: exact in a double, and in int64. */
const NUMERIC_BASE = 700_000_000_000_000 + randomInt(0, 99_999) * 1_000_000_000;

/** The personal values one request carried: what no sink may show. */
class Personal {
  private static count = 0;
  readonly numeric: string[] = [];
  /** Values sent under a hash-source key: the only inputs a pseudonym on /metrics may come from. */
  readonly hashed: string[] = [];

  /** Only [a-z0-9], so escaping in /metrics or in a JSON log line cannot change it. */
  marker(): string {
    return `${MARKER_PREFIX}x${(Personal.count++).toString(36)}z`;
  }

  numericMarker(): number {
    const n = NUMERIC_BASE + Personal.count++;
    this.numeric.push(String(n));
    return n;
  }

  /** Each place in `text` that holds a personal value, quoted with some context. */
  leaksIn(text: string): string[] {
    const found: string[] = [];
    for (const needle of [MARKER_PREFIX, ...this.numeric]) {
      for (let at = text.indexOf(needle); at !== -1 && found.length < 5; at = text.indexOf(needle, at + 1)) {
        found.push(JSON.stringify(text.slice(Math.max(0, at - 60), at + 60)));
      }
    }
    return found;
  }
}

// ---------------------------------------------------------------------------------------------------
// Generators.

/** Separators a client may put between the words of a key; the policy folds every run of them to one. */
const SEPARATOR = fc.constantFrom('.', '_', '-', ' ', '..', '__', '\t', '\u00a0', '\u200b', '/', ':', '-_-');
/** Named, so a counterexample says which casing it used. */
const CASINGS = {
  lower: (w: string) => w,
  upper: (w: string) => w.toUpperCase(),
  capital: (w: string) => w[0]!.toUpperCase() + w.slice(1),
  alternating: (w: string) => [...w].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join(''),
} as const;
const CASING = fc.constantFrom(...(Object.keys(CASINGS) as Array<keyof typeof CASINGS>));

/** `key` spelled any way that still means the same key: user.login, USER_LOGIN, User-Login, user  login. */
function spellingOf(keys: readonly string[]): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...keys), SEPARATOR, CASING, CASING).map(([key, separator, first, rest]) =>
    key
      .split('.')
      .map((word, i) => CASINGS[i === 0 ? first : rest](word))
      .join(separator)
  );
}

/** The characters that break escaping and quoting, plus unicode that is more than one UTF-16 unit. */
const TRICKY = fc.constantFrom(
  '"',
  '\\',
  '\n',
  '\r',
  '{',
  '}',
  '=',
  ',',
  ' ',
  '#',
  'a',
  'é',
  'e\u0301',
  '中',
  '📈',
  '\u0000'
);
const decoration = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: TRICKY, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  // Past the 256-character value cap.
  {
    weight: 1,
    arbitrary: fc.string({ unit: TRICKY, minLength: 1, maxLength: 4 }).map((s) => s.repeat(Math.ceil(300 / s.length))),
  }
);

const CATALOG_KEYS = [...new Set(METRIC_CATALOG.flatMap((m) => m.attributes))];
/** Declared keys that are neither personal nor the pseudonym: their values do reach /metrics. */
const OPEN_KEYS = CATALOG_KEYS.filter((k) => !(PERSONAL_KEYS as readonly string[]).includes(k) && k !== ATTR.USER_HASH);

interface DeniedSlot {
  readonly kind: 'denied';
  readonly key: string;
  readonly numeric: boolean;
  readonly decoration: string;
}
/** An address inside the value of a key that is not personal: the value must go whole. */
interface EmailSlot {
  readonly kind: 'email';
  readonly key: string;
  readonly local: string;
  readonly domain: string;
  readonly before: string;
  readonly after: string;
}
/** A client-made pseudonym: only the collector may set user.hash. */
interface ForgedSlot {
  readonly kind: 'forged';
  readonly key: string;
  readonly decoration: string;
}
/** Anything else: it may reach /metrics, and must come out escaped. */
interface OpenSlot {
  readonly kind: 'open';
  readonly key: string;
  readonly value: AttributeValue;
}
type Slot = DeniedSlot | EmailSlot | ForgedSlot | OpenSlot;

const deniedSlot: fc.Arbitrary<Slot> = fc.record({
  kind: fc.constant('denied' as const),
  key: spellingOf(PERSONAL_KEYS),
  numeric: fc.boolean(),
  decoration,
});
const emailSlot: fc.Arbitrary<Slot> = fc.record({
  kind: fc.constant('email' as const),
  key: fc.constantFrom(...OPEN_KEYS),
  local: fc.constantFrom("alice.o'neil", 'bob', 'x+tag', 'Jürgen', '"quoted"', 'a'.repeat(70)),
  domain: fc.constantFrom('corp.example', 'MAIL.EXAMPLE.ORG', 'sub.corp.example', 'xn--bcher-kva.example'),
  before: decoration,
  after: decoration,
});
const forgedSlot: fc.Arbitrary<Slot> = fc.record({
  kind: fc.constant('forged' as const),
  key: spellingOf([ATTR.USER_HASH]),
  decoration,
});
const openSlot: fc.Arbitrary<Slot> = fc.record({
  kind: fc.constant('open' as const),
  // Not empty: protobuf leaves an empty key off the wire, and the collector then refuses the whole
  // request, which is a decoding matter rather than a privacy one.
  key: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...OPEN_KEYS) },
    { weight: 1, arbitrary: fc.string({ unit: TRICKY, minLength: 1, maxLength: 10 }) }
  ),
  // No '@' in open values: every address in this test belongs to an email slot, so any '@' on /metrics is a leak.
  value: fc.oneof(
    { weight: 4, arbitrary: decoration.map((s) => s.replaceAll('@', '(at)')) },
    { weight: 1, arbitrary: fc.integer({ min: -1000, max: 1000 }) },
    { weight: 1, arbitrary: fc.boolean() }
  ),
});
const slot = fc.oneof(
  { weight: 3, arbitrary: deniedSlot },
  { weight: 2, arbitrary: emailSlot },
  { weight: 1, arbitrary: forgedSlot },
  { weight: 4, arbitrary: openSlot }
);
const slots = fc.array(slot, { maxLength: 8 });

const SESSIONS = 'grafana.dashboard.sessions';
const ENGAGED = 'grafana.dashboard.engaged_time';
const HEARTBEATS = 'grafana.dashboard.heartbeats';
const SESSION_DURATION = 'grafana.dashboard.session.duration';

const scenario = fc.record({
  resource: slots,
  metrics: fc.array(
    fc.record({
      // Sessions and engaged time declare user.login, user.name and user.hash: the labels a leak would use.
      name: fc.constantFrom(SESSIONS, SESSIONS, ENGAGED, HEARTBEATS, SESSION_DURATION),
      points: fc.array(slots, { minLength: 1, maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 3 }
  ),
  encodings: fc.constantFrom<ReadonlyArray<'json' | 'protobuf'>>(['json'], ['protobuf'], ['json', 'protobuf']),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

/** The attribute a slot becomes, with its personal value recorded. */
function attribute(slot: Slot, personal: Personal): JsonKeyValue {
  switch (slot.kind) {
    case 'denied': {
      const value = slot.numeric ? personal.numericMarker() : `${personal.marker()}${slot.decoration}`;
      if (HASH_SOURCES.some((k) => spellsKey(slot.key, k))) {
        personal.hashed.push(String(value));
      }
      return kv(slot.key, value);
    }
    case 'email':
      return kv(slot.key, `${slot.before} ${slot.local}.${personal.marker()}@${slot.domain} ${slot.after}`);
    case 'forged':
      return kv(slot.key, `${personal.marker()}${slot.decoration}`);
    case 'open':
      return kv(slot.key, slot.value);
  }
}

/** Whether `spelling` (made by spellingOf) is `key`: the same words, whatever the case and separators. */
function spellsKey(spelling: string, key: string): boolean {
  return words(spelling) === words(key);
}

/** A key or label name reduced to its letters and digits, lowercased: user.login, USER_LOGIN and user-login are all "userlogin". */
function words(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function buildRequest(s: Scenario, personal: Personal): { request: ExportRequest; points: number } {
  const attributes = (list: readonly Slot[]) => list.map((slot) => attribute(slot, personal));
  const metrics: JsonMetric[] = s.metrics.map(({ name, points }) =>
    name === SESSION_DURATION
      ? deltaHistogram(
          name,
          points.map((p) => ({ observations: [45], attributes: attributes(p) }))
        )
      : deltaSum(
          name,
          points.map((p) => ({ value: 1, attributes: attributes(p) }))
        )
  );
  const points = s.metrics.reduce((n, m) => n + m.points.length, 0);
  return { request: exportRequest(metrics, attributes(s.resource)), points };
}

// ---------------------------------------------------------------------------------------------------
// Checks on /metrics beyond the marker search.

const DENIED_WORDS = new Set(PERSONAL_KEYS.map(words));

/** Label names that spell a personal key: a denied key made it into a label, whatever its value. */
function deniedLabelNames(samples: readonly Sample[]): string[] {
  return samples.flatMap((s) =>
    s.pairs.filter(([name]) => DENIED_WORDS.has(words(name))).map(([name]) => `${name} on line ${s.line}: ${s.raw}`)
  );
}

/** Label values holding an '@': only e-mail slots send one here, and their values must be redacted whole. */
function addressLabelValues(samples: readonly Sample[]): string[] {
  return samples.flatMap((s) =>
    s.pairs.filter(([, value]) => value.includes('@')).map(([name]) => `${name} on line ${s.line}: ${s.raw}`)
  );
}

function pseudonymOf(value: string): string {
  return createHmac('sha256', HASH_SECRET).update(value).digest('hex').slice(0, 16);
}

/** user_hash values not made by the keyed hash from a value this test sent under a hash-source key. */
function foreignPseudonyms(samples: readonly Sample[], expected: ReadonlySet<string>): string[] {
  return samples.flatMap((s) =>
    s.pairs
      .filter(([name, value]) => name === 'user_hash' && !expected.has(value))
      .map(([, value]) => `${value} on line ${s.line}`)
  );
}

function expectPromtoolAccepts(text: string): void {
  const result = checkMetrics(text);
  expect(result.code, `promtool check metrics exited ${result.code}:\n${result.output}`).toBe(0);
}

// ---------------------------------------------------------------------------------------------------
// Talking to the collector.

/**
 * A place data leaves the collector by. Each must be free of personal values after every request.
 * When the forwarder arrives (OTLP to an upstream collector, a later issue), add a sink that returns
 * what an upstream stand-in received, and these tests cover it too.
 */
interface Sink {
  readonly name: string;
  read(): Promise<string>;
}

async function scrapeText(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  if (res.status !== 200) {
    throw new Error(`/metrics answered ${res.status}`);
  }
  return res.text();
}

/** POSTs the request in one encoding; returns the status and the points refused. */
async function post(
  url: string,
  request: ExportRequest,
  encoding: 'json' | 'protobuf'
): Promise<{ status: number; rejected: number; body: string }> {
  const body = encoding === 'json' ? toJson(request) : toProtobuf(request, types);
  const res = await send(`${url}/v1/metrics`, {
    headers: { 'content-type': `application/${encoding === 'json' ? 'json' : 'x-protobuf'}` },
    body,
  });
  if (res.status !== 200) {
    return { status: res.status, rejected: NaN, body: res.body.toString('utf8') };
  }
  const partial =
    encoding === 'json'
      ? decodeJsonResponse(res.body).partialSuccess
      : decodeProtobufResponse(res.body, types).partialSuccess;
  return {
    status: res.status,
    rejected: Number(partial?.rejectedDataPoints ?? 0),
    body: JSON.stringify(partial ?? {}),
  };
}

interface RunningCollector {
  readonly proc: CollectorProcess;
  readonly dir: string;
  readonly stateFile: string;
  readonly sinks: readonly Sink[];
  close(): Promise<void>;
}

/** The built collector with this YAML (a state file added), logging at trace. */
async function startCollector(yaml: string, env: Record<string, string> = {}): Promise<RunningCollector> {
  const dir = mkdtempSync(join(tmpdir(), 'footfall-privacy-'));
  const stateFile = join(dir, 'state.json');
  const config = join(dir, 'collector.yaml');
  writeFileSync(config, `${yaml}\nstate:\n  file: ${JSON.stringify(stateFile)}\n  intervalSeconds: 1\n`);
  const proc = await spawnCollector(['--config', config, '--log-level', 'trace'], env);
  const sinks: Sink[] = [
    { name: '/metrics', read: () => scrapeText(proc.url) },
    { name: 'the log', read: async () => proc.output.join('\n') },
    { name: 'the state file', read: async () => (existsSync(stateFile) ? readFileSync(stateFile, 'utf8') : '') },
  ];
  return {
    proc,
    dir,
    stateFile,
    sinks,
    async close() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function leaksInSinks(sinks: readonly Sink[], personal: Personal): Promise<Record<string, string[]>> {
  const leaks: Record<string, string[]> = {};
  for (const sink of sinks) {
    const found = personal.leaksIn(await sink.read());
    if (found.length > 0) {
      leaks[sink.name] = found;
    }
  }
  return leaks;
}

// ---------------------------------------------------------------------------------------------------

describe('privacy property: no personal value reaches /metrics, the log or the state file', () => {
  let c: RunningCollector;
  beforeAll(async () => {
    c = await startCollector('privacy:\n  hash:\n    enabled: true\n', { FOOTFALL_HASH_SECRET: HASH_SECRET });
  });
  afterAll(() => c?.close());

  const everyone = new Personal();
  const pseudonyms = new Set<string>();

  it('holds for random attribute sets sent as OTLP JSON and protobuf (100 runs)', async () => {
    let runs = 0;
    let accepted = sumOf(parseExposition(await scrapeText(c.proc.url)), 'footfall_collector_points_accepted_total');
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const personal = new Personal();
        const { request, points } = buildRequest(s, personal);
        for (const value of personal.hashed) {
          pseudonyms.add(pseudonymOf(value));
        }
        everyone.numeric.push(...personal.numeric);

        for (const encoding of s.encodings) {
          const res = await post(c.proc.url, request, encoding);
          expect({ encoding, status: res.status, rejected: res.rejected }, res.body).toEqual({
            encoding,
            status: 200,
            rejected: 0,
          });
        }
        const text = await scrapeText(c.proc.url);
        const samples = parseExposition(text);
        // The points went in, so the searches below look at data that includes them.
        const before = accepted;
        accepted = sumOf(samples, 'footfall_collector_points_accepted_total');
        expect(accepted - before).toBe(points * s.encodings.length);

        expect(await leaksInSinks(c.sinks, personal)).toEqual({});
        expect(deniedLabelNames(samples)).toEqual([]);
        expect(addressLabelValues(samples)).toEqual([]);
        expect(foreignPseudonyms(samples, pseudonyms)).toEqual([]);
        expect(invalidLabelNames(samples)).toEqual([]);
        expect(duplicateSeries(samples), 'samples Prometheus would read as one series').toEqual([]);
        // promtool costs a process start: every other run, and on the final exposition below, which holds
        // every series of every run (it only grows).
        if (runs++ % 2 === 0) {
          expectPromtoolAccepts(text);
        }
      }),
      // A fixed number of runs (about 7 s on an idle machine), not as many as fit in a time budget: a
      // loaded machine ran too few for the count to mean anything.
      { numRuns: 100 }
    );
    expect(runs).toBe(100);
    const text = await scrapeText(c.proc.url);
    expectPromtoolAccepts(text);
    // The keyed hash ran: pseudonyms of sent values are on /metrics.
    expect(parseExposition(text).filter((s) => s.labels.user_hash !== undefined).length).toBeGreaterThan(0);
  }, 180_000);

  it('holds after shutdown too: the final state file and the whole log', async () => {
    expect(await c.proc.stop(), 'a clean stop, which saves the state').toBe(0);
    const state = JSON.parse(readFileSync(c.stateFile, 'utf8')) as { counters: unknown[] };
    expect(state.counters.length).toBeGreaterThan(0);
    const leaks: Record<string, string[]> = {};
    for (const sink of c.sinks.filter((s) => s.name !== '/metrics')) {
      const found = everyone.leaksIn(await sink.read());
      if (found.length > 0) {
        leaks[sink.name] = found;
      }
    }
    expect(leaks).toEqual({});
    expect(c.proc.output.join('\n')).not.toContain(HASH_SECRET);
  });
});

describe('negative control: the same checks on a collector that lets personal data through', () => {
  let c: RunningCollector;
  beforeAll(async () => {
    c = await startCollector(
      [
        'privacy:',
        '  mode: allow',
        '  allow: [dashboard.uid, dashboard.name, user.login]',
        '  redactEmailValues: false',
      ].join('\n')
    );
  });
  afterAll(() => c?.close());

  it('finds the marker (on /metrics and in the state file), the address and the denied label name; flags a pseudonym it did not expect', async () => {
    const personal = new Personal();
    const login = personal.marker();
    const address = `x alice.o'neil.${personal.marker()}@corp.example y`;
    const request = exportRequest([
      deltaSum(SESSIONS, [
        {
          value: 1,
          attributes: [kv('dashboard.uid', 'control'), kv('user.login', login), kv('dashboard.name', address)],
        },
      ]),
    ]);
    expect((await post(c.proc.url, request, 'json')).status).toBe(200);

    const leaks = await leaksInSinks(c.sinks, personal);
    expect(leaks['/metrics']?.length, 'the marker search finds a personal value on /metrics').toBeGreaterThan(0);
    // The state file is saved every second: the sink reads the real file.
    const saved = await pollUntil(
      () => leaksInSinks(c.sinks, personal),
      (l) => l['the state file'] !== undefined,
      5_000,
      200
    );
    expect(
      saved['the state file']?.length,
      'the marker search finds a personal value in the state file'
    ).toBeGreaterThan(0);
    const samples = parseExposition(await scrapeText(c.proc.url));
    expect(deniedLabelNames(samples).join('\n')).toMatch(/^user_login on line/m);
    expect(addressLabelValues(samples).join('\n')).toMatch(/^dashboard_name on line/m);
    // A user_hash value the test did not expect is reported (here: none are expected at all).
    expect(foreignPseudonyms(parseExposition('m_total{user_hash="0123456789abcdef"} 1\n'), new Set())).toHaveLength(1);
  });
});
