/**
 * The decode-path fuzz harness shared by test/fuzz.test.ts (50,000 iterations per path in every CI run)
 * and scripts/fuzz.ts (1,000,000 on demand).
 *
 * A target runs what the /v1/metrics handler runs for one request, minus the socket: readBody on a
 * request stream carrying the path's headers → codec.decodeRequest → pipeline.ingest → the answer's
 * encoding (encodeResponse, or encodeStatus for a refusal). A target settles with the outcome; anything
 * it throws other than a typed RequestError (4xx) is a crash.
 *
 * It imports the built collector (dist), not its sources: the long-run script runs under plain Node,
 * whose type stripping loads our .ts files but cannot resolve the sources' `.js` import specifiers.
 * Using one copy of the collector also keeps `instanceof RequestError` true. `npm test` builds first.
 */
import { writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import type { Attributes, Meter } from '@opentelemetry/api';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { pino } from 'pino';
import {
  createJsonCodec,
  createProtobufCodec,
  type Codec,
  type MetricsRequest,
} from '../../packages/collector/dist/decode/index.js';
import { RequestError } from '../../packages/collector/dist/errors.js';
import {
  ATTR,
  configSchema,
  createCollector,
  METRIC_CATALOG,
  PANEL_SCOPE_NAME,
  PANEL_SERVICE_NAME,
  type CatalogMetric,
} from '../../packages/collector/dist/index.js';
import { readBody } from '../../packages/collector/dist/receive/index.js';
import { loadOtlpTypes, type OtlpTypes } from '../support/requests.ts';

export const DECODE_PATHS = ['json', 'protobuf', 'gzip-json'] as const;
export type DecodePath = (typeof DECODE_PATHS)[number];

/** T7: an iteration slower than this is a hang (if the input is slow again; see rerunCost). */
export const HANG_MS = 100;
/** A request still unsettled after this long never will: fail it as a hang rather than wait. */
const DEADLINE_MS = 2_000;
/** T7: heap growth over a whole run beyond this is a failure. */
const MAX_HEAP_GROWTH_BYTES = 50 * 1024 * 1024;
/** Node delivers a request body in socket-sized chunks; so does the fake request. */
const CHUNK_BYTES = 16 * 1024;

/** What the collector made of one request. */
export type Outcome =
  | { readonly kind: 'accepted'; readonly accepted: number; readonly rejected: number }
  | { readonly kind: 'refused'; readonly status: number; readonly reason: string; readonly message: string };

/** One decode path as the server runs it. `run` rejects only on a crash. */
export interface DecodeTarget {
  readonly path: DecodePath;
  run(body: Uint8Array): Promise<Outcome>;
}

/** Request bodies made by the OTel SDK's own serializers, and the same bodies gzipped. */
export interface SeedBodies {
  readonly json: readonly Buffer[];
  readonly protobuf: readonly Buffer[];
  readonly gzipJson: readonly Buffer[];
}

export interface FuzzHarness {
  readonly targets: Readonly<Record<DecodePath, DecodeTarget>>;
  /** The generated input of each path. */
  readonly inputs: Readonly<Record<DecodePath, fc.Arbitrary<Uint8Array>>>;
  /** The SDK bodies the generators start from; the first holds points of every catalog metric. */
  readonly seeds: SeedBodies;
}

/** The secret of the harness collector's keyed hash, which is on so the pseudonym path runs too. */
const HASH_SECRET = 'fuzz-harness-secret-0123456789';

export interface FuzzHarnessOptions {
  /** The collector's body limit (server.maxBodyBytes); its default when absent. */
  readonly maxBodyBytes?: number;
}

/** Builds the collector stages, the SDK seed bodies and the generators. */
export async function createFuzzHarness(options: FuzzHarnessOptions = {}): Promise<FuzzHarness> {
  const config = configSchema.parse({
    server: { maxBodyBytes: options.maxBodyBytes },
    privacy: { hash: { enabled: true, secret: HASH_SECRET } },
  });
  const { pipeline } = createCollector(config, { logger: pino({ level: 'silent' }) });
  const maxBodyBytes = config.server.maxBodyBytes;

  function target(path: DecodePath, codec: Codec, headers: Record<string, string>): DecodeTarget {
    return {
      path,
      async run(body) {
        const req = fakeRequest(body, headers);
        try {
          const bytes = await readBody(req, maxBodyBytes, config.server.bodyIdleTimeoutMs);
          const request = codec.decodeRequest(bytes);
          const result = pipeline.ingest(request);
          codec.encodeResponse(result);
          return {
            kind: 'accepted',
            accepted: pointCount(request) - result.rejectedDataPoints,
            rejected: result.rejectedDataPoints,
          };
        } catch (err) {
          // A 5xx RequestError would be the handler's own verdict on a bug: only 4xx is a typed rejection.
          if (!(err instanceof RequestError) || err.status >= 500) {
            throw err;
          }
          codec.encodeStatus(err.rpcCode, err.message);
          return { kind: 'refused', status: err.status, reason: err.reason, message: err.message };
        }
      },
    };
  }

  const json = createJsonCodec();
  const protobuf = createProtobufCodec();
  const targets: Record<DecodePath, DecodeTarget> = {
    json: target('json', json, { 'content-type': 'application/json' }),
    protobuf: target('protobuf', protobuf, { 'content-type': 'application/x-protobuf' }),
    'gzip-json': target('gzip-json', json, { 'content-type': 'application/json', 'content-encoding': 'gzip' }),
  };

  const types = loadOtlpTypes();
  const sdkRequests = await Promise.all(SEED_REQUESTS.map((seed) => collect(seed)));
  const seeds: SeedBodies = {
    json: sdkRequests.map((r) => serialize(r, 'json')),
    protobuf: sdkRequests.map((r) => serialize(r, 'protobuf')),
    gzipJson: sdkRequests.map((r) => gzipSync(serialize(r, 'json'))),
  };
  return { targets, inputs: createInputs(seeds, types, maxBodyBytes), seeds };
}

/** An IncomingMessage as readBody sees one: a byte stream with headers (Content-Length included, as clients send it). */
function fakeRequest(body: Uint8Array, headers: Readonly<Record<string, string>>): IncomingMessage {
  const stream = new Readable({ read() {} });
  for (let at = 0; at < body.length; at += CHUNK_BYTES) {
    stream.push(body.subarray(at, at + CHUNK_BYTES));
  }
  stream.push(null);
  return Object.assign(stream, {
    headers: { ...headers, 'content-length': String(body.length) },
  }) as unknown as IncomingMessage;
}

function pointCount(request: MetricsRequest): number {
  let n = 0;
  for (const resource of request.resources) {
    for (const metric of resource.metrics) {
      n += metric.type === 'unsupported' ? metric.pointCount : metric.points.length;
    }
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------
// Seeds: what the OTel JS SDK sends for the catalog's instruments (the panel records exactly these).

/** Collects one reading, as an exporter would send it; DELTA unless said otherwise. */
class OneShotReader extends MetricReader {
  constructor(temporality: AggregationTemporality) {
    super({ aggregationTemporalitySelector: () => temporality });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

interface SeedRequest {
  readonly temporality: AggregationTemporality;
  readonly views?: ViewOptions[];
  readonly resource: Attributes;
  record(meter: Meter): void;
}

/** A resource like the panel's: service name, page-constant user attributes, an array value (dropped on decode). */
const PANEL_RESOURCE_ATTRIBUTES: Attributes = {
  'service.name': PANEL_SERVICE_NAME,
  'telemetry.sdk.language': 'webjs',
  [ATTR.GRAFANA_HOST]: 'grafana.example.internal',
  [ATTR.USER_LOGIN]: 'resource-login',
  'browser.brands': ['Chromium', 'Not A Brand'],
};

/** Plausible values for each catalog attribute, personal ones included (the policy drops or hashes them). */
function attributesFor(metric: CatalogMetric, variant: number): Attributes {
  const attributes: Attributes = {};
  for (const key of metric.attributes) {
    if (key === ATTR.USER_HASH) {
      continue;
    }
    if (key === ATTR.ENGAGEMENT_STATE) {
      attributes[key] = ['focused', 'visible', 'hidden'][variant % 3]!;
    } else {
      attributes[key] = `${key.replace(/\W/g, '-')}-${variant}`;
    }
  }
  // Types the SDK sends besides strings, and keys no metric declares.
  attributes['user.email'] = `someone${variant}@corp.example`;
  attributes['panel.count'] = variant;
  attributes['panel.ratio'] = variant + 0.5;
  attributes['panel.shared'] = variant % 2 === 0;
  return attributes;
}

function recordCatalog(meter: Meter, metrics: readonly CatalogMetric[], variants = 2): void {
  for (const metric of metrics) {
    for (let variant = 0; variant < variants; variant++) {
      const attributes = attributesFor(metric, variant);
      if (metric.kind === 'histogram') {
        const histogram = meter.createHistogram(metric.name, {
          unit: metric.unit,
          advice: { explicitBucketBoundaries: [...(metric.buckets ?? [])] },
        });
        histogram.record(0.2 + variant * 40, attributes);
        histogram.record(900 * variant, attributes);
      } else if (metric.kind === 'gauge') {
        meter.createGauge(metric.name, { unit: metric.unit }).record(variant, attributes);
      } else {
        meter.createCounter(metric.name, { unit: metric.unit }).add(1 + variant * 1.5, attributes);
      }
    }
  }
}

const SEED_REQUESTS: readonly SeedRequest[] = [
  // Every catalog metric in one export: the panel's normal traffic.
  {
    temporality: AggregationTemporality.DELTA,
    resource: PANEL_RESOURCE_ATTRIBUTES,
    record: (m) => recordCatalog(m, METRIC_CATALOG),
  },
  // A small export of one counter, and one of one histogram.
  {
    temporality: AggregationTemporality.DELTA,
    resource: { 'service.name': PANEL_SERVICE_NAME },
    record: (m) => recordCatalog(m, METRIC_CATALOG.filter((c) => c.kind === 'counter').slice(0, 1)),
  },
  {
    temporality: AggregationTemporality.DELTA,
    resource: { 'service.name': PANEL_SERVICE_NAME },
    record: (m) => recordCatalog(m, METRIC_CATALOG.filter((c) => c.kind === 'histogram').slice(0, 1)),
  },
  // What the collector refuses point by point: cumulative input; then gauges, up-down counters,
  // exponential histograms and unknown names beside one accepted counter.
  {
    temporality: AggregationTemporality.CUMULATIVE,
    resource: PANEL_RESOURCE_ATTRIBUTES,
    record: (m) => recordCatalog(m, METRIC_CATALOG.slice(0, 2)),
  },
  {
    temporality: AggregationTemporality.DELTA,
    views: [{ instrumentName: 'fuzz.exponential', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    resource: PANEL_RESOURCE_ATTRIBUTES,
    record(meter) {
      recordCatalog(meter, METRIC_CATALOG.slice(0, 1));
      meter.createGauge('grafana.dashboard.sessions.gauge').record(3, { [ATTR.DASHBOARD_UID]: 'g' });
      meter.createUpDownCounter(METRIC_CATALOG[0]!.name + '.updown').add(-2, { [ATTR.DASHBOARD_UID]: 'u' });
      meter.createHistogram('fuzz.exponential').record(7, { [ATTR.DASHBOARD_UID]: 'e' });
      meter.createCounter('not.in.catalog').add(1);
    },
  },
];

async function collect(seed: SeedRequest): Promise<ResourceMetrics> {
  const reader = new OneShotReader(seed.temporality);
  const provider = new MeterProvider({
    resource: resourceFromAttributes(seed.resource),
    readers: [reader],
    views: seed.views ?? [],
  });
  seed.record(provider.getMeter(PANEL_SCOPE_NAME, '0.1.0'));
  const { resourceMetrics, errors } = await reader.collect();
  await provider.shutdown();
  if (errors.length > 0) {
    throw new AggregateError(errors, 'SDK collection failed');
  }
  return resourceMetrics;
}

function serialize(resourceMetrics: ResourceMetrics, encoding: 'json' | 'protobuf'): Buffer {
  const bytes = (encoding === 'json' ? JsonMetricsSerializer : ProtobufMetricsSerializer).serializeRequest(
    resourceMetrics
  );
  if (!bytes) {
    throw new Error(`the SDK's ${encoding} serializer returned nothing`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---------------------------------------------------------------------------------------------------
// Generators.

const RANDOM_BYTES = fc.uint8Array({ maxLength: 2048 });

/** One byte-level change: the kind of damage a truncating proxy, a bit flip or a hostile client does. */
interface ByteMutation {
  readonly at: number;
  readonly op: 'set' | 'flip' | 'insert' | 'delete';
  readonly byte: number;
}

const byteMutations = fc.array(
  fc.record({
    at: fc.nat(),
    op: fc.constantFrom('set', 'flip', 'insert', 'delete'),
    byte: fc.integer({ min: 0, max: 255 }),
  }),
  { minLength: 1, maxLength: 8 }
);

function mutateBytes(original: Uint8Array, mutations: readonly ByteMutation[]): Uint8Array {
  let bytes = Buffer.from(original);
  for (const { at, op, byte } of mutations) {
    const i = bytes.length === 0 ? 0 : at % bytes.length;
    if (op === 'insert') {
      bytes = Buffer.concat([bytes.subarray(0, i), Buffer.of(byte), bytes.subarray(i)]);
    } else if (bytes.length === 0) {
      continue;
    } else if (op === 'delete') {
      bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
    } else if (op === 'set') {
      bytes[i] = byte;
    } else {
      bytes[i] = bytes[i]! ^ (1 << (byte & 7));
    }
  }
  return bytes;
}

/** One of `list`; shrinking moves towards the first. */
function pick<T>(list: readonly T[]): fc.Arbitrary<T> {
  return fc.nat({ max: list.length - 1 }).map((i) => list[i]!);
}

type JsonPath = ReadonlyArray<string | number>;

/** Every node's path in a parsed JSON body: where a subtree edit can land. */
function nodePaths(node: unknown, path: JsonPath = [], out: JsonPath[] = []): JsonPath[] {
  out.push(path);
  if (Array.isArray(node)) {
    node.forEach((child, i) => nodePaths(child, [...path, i], out));
  } else if (typeof node === 'object' && node !== null) {
    for (const [k, child] of Object.entries(node)) {
      nodePaths(child, [...path, k], out);
    }
  }
  return out;
}

/** A copy of `root` with the node at `path` replaced by change(node); copies only along the path. */
function editAt(root: unknown, path: JsonPath, change: (node: unknown) => unknown): unknown {
  if (path.length === 0) {
    return change(root);
  }
  if (typeof root !== 'object' || root === null) {
    return root;
  } // an earlier edit removed the path
  const [head, ...rest] = path;
  if (!Object.hasOwn(root, head!)) {
    return root;
  }
  const copy = (Array.isArray(root) ? [...(root as unknown[])] : { ...root }) as Record<string | number, unknown>;
  copy[head!] = editAt(copy[head!], rest, change);
  return copy;
}

/** Values that sit at the edge of what the proto3 JSON mapping allows for a field. */
const EDGE_VALUES: readonly unknown[] = [
  null,
  '',
  ' ',
  '0',
  '-0',
  '1e400',
  '-1',
  '0x10',
  ' 1',
  '1 ',
  'NaN',
  'Infinity',
  '-Infinity',
  'nan',
  '9007199254740993',
  '18446744073709551616',
  '-9223372036854775809',
  'AGGREGATION_TEMPORALITY_DELTA',
  'AGGREGATION_TEMPORALITY_CUMULATIVE',
  'constructor',
  '__proto__',
  'toString',
  -1,
  -0,
  0.5,
  3,
  1e308,
  -1e308,
  2 ** 53 + 2,
  2 ** 64,
  Number.MIN_VALUE,
  true,
  false,
  {},
  [],
  [[]],
  { toNumber: 1 },
  { stringValue: 'x' },
  { intValue: '7' },
  { arrayValue: { values: [] } },
  '\u0000',
  '\ud800',
  'e\u0301',
  '📈'.repeat(40),
  'x'.repeat(300),
  'a@b.example',
];

/** Field names of the OTLP model, to add where they do not belong (two oneof members, shadowing). */
const FIELD_NAMES = [
  'resourceMetrics',
  'resource',
  'attributes',
  'scopeMetrics',
  'scope',
  'metrics',
  'name',
  'unit',
  'sum',
  'gauge',
  'histogram',
  'exponentialHistogram',
  'summary',
  'dataPoints',
  'aggregationTemporality',
  'isMonotonic',
  'asInt',
  'asDouble',
  'count',
  'bucketCounts',
  'explicitBounds',
  'key',
  'value',
  'stringValue',
  'intValue',
  'doubleValue',
  'boolValue',
  'arrayValue',
  'kvlistValue',
  'bytesValue',
  'values',
  '__proto__',
  'constructor',
  'hasOwnProperty',
] as const;

const jsonReplacement: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 3, arbitrary: fc.constantFrom(...EDGE_VALUES) },
  // Anything JSON.stringify can write (it drops undefined and functions, as a JS client would).
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) }
);

interface JsonEdit {
  readonly at: number;
  readonly op: 'replace' | 'remove' | 'add' | 'repeat';
  readonly key: string;
  readonly value: unknown;
}

const jsonEdits = fc.array(
  fc.record({
    at: fc.nat(),
    op: fc.constantFrom('replace', 'remove', 'add', 'repeat'),
    key: fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string({ maxLength: 8 })),
    value: jsonReplacement,
  }),
  { minLength: 1, maxLength: 3 }
);

function applyEdit(node: unknown, edit: JsonEdit): unknown {
  switch (edit.op) {
    case 'replace':
      return edit.value;
    case 'remove':
      return undefined;
    case 'add':
      if (Array.isArray(node)) {
        return [...node, edit.value];
      }
      // A computed key, so `__proto__` becomes an own field as JSON.parse would make it.
      if (typeof node === 'object' && node !== null) {
        return { ...node, [edit.key]: edit.value };
      }
      return edit.value;
    case 'repeat':
      return Array.isArray(node) ? [...node, ...node] : node;
  }
}

/** A seed body with 1–3 subtrees replaced, removed, extended or repeated. */
function editedJson(seeds: readonly Buffer[]): fc.Arbitrary<Buffer> {
  const parsed = seeds.map((s) => JSON.parse(s.toString('utf8')) as unknown);
  const paths = parsed.map((p) => nodePaths(p));
  return fc.record({ seed: fc.nat({ max: seeds.length - 1 }), edits: jsonEdits }).map(({ seed, edits }) => {
    let body = parsed[seed];
    for (const edit of edits) {
      body = editAt(body, paths[seed]![edit.at % paths[seed]!.length]!, (node) => applyEdit(node, edit));
    }
    return Buffer.from(JSON.stringify(body) ?? '');
  });
}

// Well-typed requests with hostile content: they get past the decoder into privacy, limits, series cap
// and aggregation far more often than damaged seeds do.

const CATALOG_NAMES = METRIC_CATALOG.map((m) => m.name);
const DECLARED_KEYS = [...new Set(METRIC_CATALOG.flatMap((m) => m.attributes))];

/** The characters that break escaping, sanitising and UTF-8 (quotes, backslashes, newlines, braces, lone surrogates). */
const trickyString = fc.string({
  unit: fc.constantFrom(
    '"',
    '\\',
    '\n',
    '\r',
    '{',
    '}',
    '=',
    ',',
    '\u0000',
    '\ud83d',
    '\udc00',
    '📈',
    'é',
    '@',
    '.',
    'a'
  ),
  minLength: 1,
  maxLength: 12,
});
const hostileString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 4, arbitrary: trickyString },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  // Around the 256-character value cap, where a cut can fall inside a surrogate pair. Built by repetition:
  // fc.string of that length costs ten times as much to generate, and generation is most of an iteration.
  {
    weight: 1,
    arbitrary: fc
      .tuple(trickyString, fc.integer({ min: 250, max: 300 }))
      .map(([s, n]) => s.repeat(Math.ceil(n / s.length)).slice(0, n)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 }), fc.constantFrom('corp.example', 'b.co'))
      .map(([local, domain]) => `${local}@${domain}`),
  }
);

const attributeKey = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...DECLARED_KEYS, 'user.email', 'user.id', 'service.name') },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...DECLARED_KEYS), fc.constantFrom('_', '-', ' ', '..', 'K', '\u212a'), fc.boolean())
      .map(([key, sep, upper]) => (upper ? key.toUpperCase() : key).replace('.', sep)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', '_', '__name__', 'le', 'quantile', 'otel_metric_overflow', '0key', 'x'.repeat(200)),
  },
  { weight: 2, arbitrary: hostileString }
);

const int64Text = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);

const anyValue = fc.oneof(
  { weight: 6, arbitrary: fc.record({ stringValue: hostileString }) },
  { weight: 1, arbitrary: fc.record({ intValue: int64Text }) },
  { weight: 1, arbitrary: fc.record({ doubleValue: fc.double() }) },
  { weight: 1, arbitrary: fc.record({ boolValue: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ bytesValue: fc.base64String({ maxLength: 12 }) }) },
  { weight: 1, arbitrary: fc.constant({ arrayValue: { values: [{ stringValue: 'nested' }] } }) },
  { weight: 1, arbitrary: fc.constant({ kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } }) },
  { weight: 1, arbitrary: fc.constant({}) }
);

const attributes = fc.array(fc.record({ key: attributeKey, value: anyValue }), { maxLength: 8 });

const numberPoint = fc
  .record({
    attributes,
    value: fc.oneof(
      fc.record({ asInt: fc.oneof(fc.nat({ max: 100 }).map(String), int64Text) }),
      fc.record({ asDouble: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double()) }),
      fc.constant({})
    ),
  })
  .map(({ attributes, value }) => ({ attributes, ...value, timeUnixNano: '1700000000000000000' }));

function histogramPoint(catalogBounds: readonly number[]): fc.Arbitrary<object> {
  const bounds = fc.oneof(
    { weight: 4, arbitrary: fc.constant([...catalogBounds]) },
    // Finer buckets that still contain every catalog boundary merge exactly.
    {
      weight: 1,
      arbitrary: fc
        .double({ min: 0, max: 1e5, noNaN: true })
        .map((extra) => [...new Set([...catalogBounds, extra])].sort((a, b) => a - b)),
    },
    { weight: 1, arbitrary: fc.array(fc.double(), { maxLength: 12 }) }
  );
  return fc
    .record({
      attributes,
      bounds,
      counts: fc.array(fc.nat({ max: 50 }), { maxLength: 13 }),
      sum: fc.double(),
      exact: fc.boolean(),
    })
    .map(({ attributes, bounds, counts, sum, exact }) => {
      const bucketCounts = exact ? Array.from({ length: bounds.length + 1 }, (_, i) => counts[i] ?? 0) : counts;
      const count = bucketCounts.reduce((a, b) => a + b, 0) + (exact ? 0 : 1);
      return {
        attributes,
        count: String(count),
        sum: exact ? Math.abs(sum) : sum,
        bucketCounts: bucketCounts.map(String),
        explicitBounds: bounds,
      };
    });
}

/** DELTA and monotonic, as the catalog wants, most of the time: the points then reach the aggregator. */
const temporality = fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(0, 2) });
const mostlyTrue = fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });

const metric: fc.Arbitrary<object> = fc
  .record({
    name: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...CATALOG_NAMES) },
      { weight: 1, arbitrary: hostileString }
    ),
    shape: fc.nat({ max: 19 }),
  })
  .chain(({ name, shape }) => {
    const bounds = METRIC_CATALOG.find((m) => m.name === name)?.buckets ?? [1, 10];
    const numberPoints = fc.array(numberPoint, { maxLength: 4 });
    // Mostly the shape the catalog declares for the name, sometimes another.
    const declared = METRIC_CATALOG.find((m) => m.name === name)?.kind === 'histogram' ? 'histogram' : 'sum';
    const kind = shape < 16 ? declared : (['gauge', 'exponentialHistogram', 'summary', 'none'] as const)[shape - 16]!;
    switch (kind) {
      case 'sum':
        return fc
          .record({ aggregationTemporality: temporality, isMonotonic: mostlyTrue, dataPoints: numberPoints })
          .map((sum) => ({ name, sum }));
      case 'histogram':
        return fc
          .record({
            aggregationTemporality: temporality,
            dataPoints: fc.array(histogramPoint(bounds), { maxLength: 3 }),
          })
          .map((histogram) => ({ name, histogram }));
      case 'gauge':
        return numberPoints.map((dataPoints) => ({ name, gauge: { dataPoints } }));
      case 'exponentialHistogram':
      case 'summary':
        return fc.constant({ name, [kind]: { dataPoints: [{}] } });
      case 'none':
        return fc.constant({ name });
    }
  });

/** A well-typed ExportMetricsServiceRequest (proto3 JSON shape) with hostile attributes and values. */
const typedRequest: fc.Arbitrary<object> = fc
  .array(
    fc.record({
      resourceAttributes: attributes,
      scopes: fc.array(fc.array(metric, { maxLength: 4 }), { minLength: 1, maxLength: 2 }),
    }),
    { minLength: 1, maxLength: 2 }
  )
  .map((resources) => ({
    resourceMetrics: resources.map((r) => ({
      resource: { attributes: r.resourceAttributes },
      scopeMetrics: r.scopes.map((metrics) => ({ scope: { name: PANEL_SCOPE_NAME }, metrics })),
    })),
  }));

/**
 * One attribute key or value made of a short pattern repeated up to the 64 KiB body cap, on the
 * resource and on a point: a regex or a loop over keys and values that is worse than linear in their
 * length (e-mail detection, key folding, label names) shows up here as a hang.
 */
const longAttribute: fc.Arbitrary<object> = fc
  .record({
    pattern: fc.string({
      unit: fc.constantFrom('a', 'Z', '@', '.', '_', ' ', '-', '1', 'é', '"', '\\'),
      minLength: 1,
      maxLength: 6,
    }),
    length: fc.integer({ min: 1_000, max: 60_000 }),
    asKey: fc.boolean(),
    name: fc.constantFrom(...METRIC_CATALOG.filter((m) => m.kind === 'counter').map((m) => m.name)),
  })
  .map(({ pattern, length, asKey, name }) => {
    const text = pattern.repeat(Math.ceil(length / pattern.length)).slice(0, length);
    const attribute = asKey
      ? { key: text, value: { stringValue: 'v' } }
      : { key: ATTR.DASHBOARD_NAME, value: { stringValue: text } };
    const sum = { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ asInt: '1', attributes: [attribute] }] };
    return {
      resourceMetrics: [{ resource: { attributes: [attribute] }, scopeMetrics: [{ metrics: [{ name, sum }] }] }],
    };
  });

/** A copy with every string made well-formed UTF-16 (lone surrogates → U+FFFD). */
function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.toWellFormed();
  }
  if (Array.isArray(value)) {
    return value.map(wellFormed);
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toWellFormed(), wellFormed(v)]));
  }
  return value;
}

/**
 * A request whose one attribute value is nested `depth` arrays deep: protobufjs stops at 100 levels,
 * JSON.parse does not (and the decoder must not walk it). Written as text, because JSON.stringify
 * recurses and runs out of stack long before JSON.parse does.
 */
function deepJson(depth: number): Buffer {
  const open = '{"arrayValue":{"values":['.repeat(depth);
  const close = ']}}'.repeat(depth);
  return Buffer.from(
    `{"resourceMetrics":[{"resource":{"attributes":[{"key":"deep","value":${open}{"stringValue":"leaf"}${close}}]},"scopeMetrics":[]}]}`
  );
}
/** The protobuf twin of deepJson, encoded by hand so no encoder's own depth limit is in the way: AnyValue{array_value: ArrayValue{values: […]}}. */
function deepProtobuf(depth: number): Buffer {
  let value = field(1, Buffer.from('leaf')); // AnyValue.string_value
  for (let i = 0; i < depth; i++) {
    value = field(5, field(1, value));
  } // AnyValue.array_value → ArrayValue.values
  const keyValue = Buffer.concat([field(1, Buffer.from('deep')), field(2, value)]);
  return field(1, field(1, field(1, keyValue))); // request.resource_metrics → resource → attributes
}
/** A length-delimited protobuf field. */
function field(number: number, payload: Buffer): Buffer {
  return Buffer.concat([varint((number << 3) | 2), varint(payload.length), payload]);
}
function varint(n: number): Buffer {
  const bytes: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) {
    bytes.push((n % 128) | 0x80);
  }
  bytes.push(n);
  return Buffer.from(bytes);
}
const DEEP_DEPTHS = [99, 100, 101, 1000, 2600] as const;

function createInputs(
  seeds: SeedBodies,
  types: OtlpTypes,
  maxBodyBytes: number
): Record<DecodePath, fc.Arbitrary<Uint8Array>> {
  const toProtobuf = (request: object): Uint8Array => types.Request.encode(types.Request.fromObject(request)).finish();

  const jsonInput = fc.oneof(
    { weight: 2, arbitrary: RANDOM_BYTES },
    { weight: 4, arbitrary: editedJson(seeds.json) },
    { weight: 2, arbitrary: fc.tuple(pick(seeds.json), byteMutations).map(([seed, m]) => mutateBytes(seed, m)) },
    { weight: 3, arbitrary: typedRequest.map((r) => Buffer.from(JSON.stringify(r))) },
    { weight: 1, arbitrary: longAttribute.map((r) => Buffer.from(JSON.stringify(r))) },
    {
      weight: 1,
      arbitrary: pick([
        ...DEEP_DEPTHS.map(deepJson),
        Buffer.from('['.repeat(60_000)),
        Buffer.from(`${'['.repeat(30_000)}${']'.repeat(30_000)}`),
        Buffer.from(`{"resourceMetrics":[${'{},'.repeat(20_000)}{}]}`),
        ...seeds.json,
      ]),
    }
  );

  const deepProtobufs = DEEP_DEPTHS.map(deepProtobuf);
  const protobufInput = fc.oneof(
    { weight: 2, arbitrary: RANDOM_BYTES },
    {
      weight: 5,
      arbitrary: fc
        .tuple(pick([...seeds.protobuf, ...deepProtobufs]), byteMutations)
        .map(([seed, m]) => mutateBytes(seed, m)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(pick(seeds.protobuf), fc.nat())
        .map(([seed, cut]) => seed.subarray(0, cut % (seed.length + 1))),
    },
    // Concatenated messages merge (repeated fields append): a second request glued on, damaged or not.
    {
      weight: 1,
      arbitrary: fc
        .tuple(pick(seeds.protobuf), pick(seeds.protobuf), byteMutations)
        .map(([a, b, m]) => Buffer.concat([a, mutateBytes(b, m)])),
    },
    // protobufjs refuses a string that is not valid UTF-8 (a lone surrogate) and with it the whole request,
    // so most typed requests are made well-formed first, or they would rarely get past the decoder.
    { weight: 3, arbitrary: typedRequest.map((r) => toProtobuf(wellFormed(r) as object)) },
    { weight: 1, arbitrary: typedRequest.map(toProtobuf) },
    { weight: 1, arbitrary: longAttribute.map(toProtobuf) },
    { weight: 1, arbitrary: pick([...deepProtobufs, ...seeds.protobuf]) }
  );

  // Small compressed bodies that inflate past the limit: the 413 must come from the inflated size.
  const bombs = [
    gzipSync(Buffer.alloc(maxBodyBytes * 10, 0x20)),
    gzipSync(Buffer.from(`{"resourceMetrics":[${'{},'.repeat(maxBodyBytes)}{}]}`)),
  ];
  const gzipHeader = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);
  const structuredJson = fc.oneof(
    { weight: 4, arbitrary: editedJson(seeds.json) },
    { weight: 4, arbitrary: typedRequest.map((r) => Buffer.from(JSON.stringify(r))) },
    { weight: 1, arbitrary: longAttribute.map((r) => Buffer.from(JSON.stringify(r))) }
  );
  const gzipInput = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.tuple(structuredJson, fc.constantFrom(1, 6)).map(([body, level]) => gzipSync(body, { level })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(pick(seeds.json), byteMutations)
        .map(([seed, m]) => gzipSync(mutateBytes(seed, m), { level: 1 })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(pick(seeds.gzipJson), fc.nat()).map(([gz, cut]) => gz.subarray(0, cut % gz.length)),
    },
    { weight: 3, arbitrary: fc.tuple(pick(seeds.gzipJson), byteMutations).map(([gz, m]) => mutateBytes(gz, m)) },
    // Two gzip members, or one with bytes after its trailer.
    {
      weight: 1,
      arbitrary: fc.tuple(pick(seeds.gzipJson), pick(seeds.gzipJson)).map(([a, b]) => Buffer.concat([a, b])),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(pick(seeds.gzipJson), RANDOM_BYTES).map(([gz, tail]) => Buffer.concat([gz, tail])),
    },
    { weight: 1, arbitrary: RANDOM_BYTES.map((tail) => Buffer.concat([gzipHeader, tail])) },
    { weight: 1, arbitrary: RANDOM_BYTES },
    { weight: 1, arbitrary: pick([...bombs, ...seeds.gzipJson]) }
  );

  return { json: jsonInput, protobuf: protobufInput, 'gzip-json': gzipInput };
}

// ---------------------------------------------------------------------------------------------------
// Running.

export type FindingKind = 'crash' | 'hang' | 'unhandled-rejection' | 'uncaught-exception' | 'heap-growth';

/** Thrown inside the property, so fast-check records (and shrinks) the input that caused it. */
export class FuzzFinding extends Error {
  readonly kind: FindingKind;
  readonly input: Uint8Array | undefined;
  constructor(kind: FindingKind, input: Uint8Array | undefined, detail: string, cause?: unknown) {
    super(`${kind}: ${detail}`, { cause });
    this.name = 'FuzzFinding';
    this.kind = kind;
    this.input = input;
  }
}

export interface FuzzOptions {
  readonly iterations: number;
  /** fast-check seed; a random one when absent. The report names it either way. */
  readonly seed?: number;
  /** Called every `progressEvery` iterations. */
  readonly onProgress?: (stats: FuzzStats) => void;
  readonly progressEvery?: number;
}

export interface FuzzStats {
  iterations: number;
  accepted: number;
  refused: number;
  /** Points the pipeline recorded over the run: proof the inputs get past the decoder. */
  points: number;
  /** Slowest single iteration, wall time, and its input. */
  slowestMs: number;
  slowestInput: Uint8Array | undefined;
  /** Iterations over HANG_MS that were fast on a rerun (a GC pause, a busy machine). */
  stalls: number;
}

export interface FuzzReport extends FuzzStats {
  readonly path: DecodePath;
  readonly seed: number;
  readonly elapsedMs: number;
  readonly perSecond: number;
  readonly heapGrowthBytes: number;
  /** The first failure, with what reproduces it; undefined when the run was clean. */
  readonly failure: FuzzFailure | undefined;
}

export interface FuzzFailure {
  readonly kind: FindingKind;
  readonly message: string;
  /** fast-check's replay coordinates: `{ seed, path }` re-runs the shrunk counterexample first. */
  readonly seed: number;
  readonly counterexamplePath: string | undefined;
  /** The failing input: inline when short, always in a file. */
  readonly input: SavedInput | undefined;
}

export interface SavedInput {
  readonly bytes: number;
  readonly base64: string | undefined;
  readonly file: string;
}

/** Inputs up to this size are also quoted inline; a 60 KB base64 line in a log helps no one. */
const INLINE_INPUT_BYTES = 2048;

/** Writes a failing input to a temporary file, so it can be replayed (scripts/fuzz.ts --input-file). */
function saveInput(path: DecodePath, input: Uint8Array): SavedInput {
  const file = join(tmpdir(), `footfall-fuzz-${path}-${process.pid}-${Date.now()}.bin`);
  writeFileSync(file, input);
  const base64 = input.length <= INLINE_INPUT_BYTES ? Buffer.from(input).toString('base64') : undefined;
  return { bytes: input.length, base64, file };
}

export function describeInput(input: SavedInput): string {
  return `input (${input.bytes} bytes): ${input.file}${input.base64 === undefined ? '' : `\nbase64: ${input.base64}`}`;
}

/** Runs one input through a target, failing it as a crash or a request that never settles. */
async function settle(target: DecodeTarget, input: Uint8Array): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new FuzzFinding('hang', input, `the ${target.path} request did not settle in ${DEADLINE_MS} ms`)),
      DEADLINE_MS
    );
  });
  try {
    return await Promise.race([target.run(input), deadline]);
  } catch (err) {
    if (err instanceof FuzzFinding) {
      throw err;
    }
    throw new FuzzFinding('crash', input, `${target.path}: ${(err as Error)?.stack ?? String(err)}`, err);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What a slow iteration costs when run again: the least of three reruns, each counted as the lesser
 * of wall and CPU time. The project's machines are shared 2-core boxes: another process can stretch
 * the wall time of any iteration (and GC helper threads add CPU time beside it), but an input that
 * hits a slow code path costs both, every time. A request that waits without working past
 * DEADLINE_MS fails in settle() instead.
 */
async function rerunCost(target: DecodeTarget, input: Uint8Array): Promise<number> {
  let least = Infinity;
  for (let i = 0; i < 3 && least > HANG_MS; i++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await settle(target, input);
    const wallMs = performance.now() - started;
    const { user, system } = process.cpuUsage(cpu);
    least = Math.min(least, wallMs, (user + system) / 1000);
  }
  return least;
}

/** Runs `iterations` generated inputs through one target; never throws, the report says what failed. */
export async function fuzzPath(harness: FuzzHarness, path: DecodePath, options: FuzzOptions): Promise<FuzzReport> {
  const target = harness.targets[path];
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const progressEvery = options.progressEvery ?? 0;
  const stats: FuzzStats = {
    iterations: 0,
    accepted: 0,
    refused: 0,
    points: 0,
    slowestMs: 0,
    slowestInput: undefined,
    stalls: 0,
  };
  const escaped: FuzzFinding[] = [];
  let current: Uint8Array | undefined;
  const onRejection = (reason: unknown): void => {
    escaped.push(new FuzzFinding('unhandled-rejection', current, String((reason as Error)?.stack ?? reason), reason));
  };
  // A monitor only watches: under plain Node the process still dies afterwards, so save the input now.
  const onUncaught = (error: Error): void => {
    escaped.push(new FuzzFinding('uncaught-exception', current, error.stack ?? String(error), error));
    const saved = current === undefined ? 'no input' : describeInput(saveInput(path, current));
    process.stderr.write(`fuzz ${path}: uncaught exception while handling ${saved}\n`);
  };

  const property = fc.asyncProperty(harness.inputs[path], async (input) => {
    current = input;
    const started = performance.now();
    const outcome = await settle(target, input);
    const ms = performance.now() - started;
    // Let a rejection the request left behind surface now, while its input is still the current one.
    await nextTurn();
    const leaked = escaped.shift();
    if (leaked) {
      throw leaked;
    }
    if (ms > HANG_MS) {
      const cost = await rerunCost(target, input);
      if (cost > HANG_MS) {
        throw new FuzzFinding(
          'hang',
          input,
          `${path}: ${ms.toFixed(1)} ms, and at least ${cost.toFixed(1)} ms on each rerun (limit ${HANG_MS} ms)`
        );
      }
      stats.stalls++;
    }
    if (ms > stats.slowestMs) {
      stats.slowestMs = ms;
      stats.slowestInput = input;
    }
    stats.iterations++;
    if (outcome.kind === 'accepted') {
      stats.accepted++;
      stats.points += outcome.accepted;
    } else {
      stats.refused++;
    }
    if (progressEvery > 0 && stats.iterations % progressEvery === 0) {
      options.onProgress?.(stats);
    }
  });

  process.on('unhandledRejection', onRejection);
  process.on('uncaughtExceptionMonitor', onUncaught);
  const heapBefore = settledHeap();
  const started = performance.now();
  let details: fc.RunDetails<[Uint8Array]>;
  try {
    details = await fc.check(property, { numRuns: options.iterations, seed });
    // A rejection from the last iteration, or from between iterations, surfaces here.
    await nextTurn();
  } finally {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtExceptionMonitor', onUncaught);
  }
  const elapsedMs = performance.now() - started;
  const heapGrowthBytes = settledHeap() - heapBefore;
  const report = { ...stats, path, seed, elapsedMs, perSecond: (stats.iterations / elapsedMs) * 1000, heapGrowthBytes };
  return { ...report, failure: failureOf(details, escaped, report) };
}

function failureOf(
  details: fc.RunDetails<[Uint8Array]>,
  escaped: readonly FuzzFinding[],
  report: Omit<FuzzReport, 'failure'>
): FuzzFailure | undefined {
  const finding = details.failed
    ? details.errorInstance instanceof FuzzFinding
      ? details.errorInstance
      : undefined
    : escaped[0];
  if (details.failed || finding) {
    const input = finding?.input ?? details.counterexample?.[0];
    return {
      kind: finding?.kind ?? 'crash',
      message: finding?.message ?? String(details.errorInstance),
      seed: details.seed,
      counterexamplePath: details.counterexamplePath ?? undefined,
      input: input === undefined ? undefined : saveInput(report.path, input),
    };
  }
  if (report.heapGrowthBytes > MAX_HEAP_GROWTH_BYTES) {
    return {
      kind: 'heap-growth',
      message: `heap grew by ${(report.heapGrowthBytes / 2 ** 20).toFixed(1)} MiB over the run (limit ${MAX_HEAP_GROWTH_BYTES / 2 ** 20} MiB)`,
      seed: report.seed,
      counterexamplePath: undefined,
      input: undefined,
    };
  }
  return undefined;
}

/** Used heap after a full collection, so growth means retained memory rather than garbage not yet collected. */
function settledHeap(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

let gc: (() => void) | undefined;
function collectGarbage(): void {
  if (gc === undefined) {
    // Without --expose-gc on the command line: switch it on, then fetch gc from a fresh context.
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** One line per path, for logs and the CLI. */
export function describeReport(report: FuzzReport): string {
  const kind = report.failure?.kind;
  const crashes = kind === 'crash' || kind === 'uncaught-exception' || kind === 'unhandled-rejection' ? 1 : 0;
  return (
    `${report.path}: ${report.iterations} iterations, ${crashes} crashes, ${kind === 'hang' ? 1 : 0} hangs, ` +
    `slowest ${report.slowestMs.toFixed(1)} ms (${report.slowestInput?.length ?? 0}-byte input; ${report.stalls} slow iterations fast on rerun), ` +
    `${Math.round(report.perSecond)} it/s, ${(report.elapsedMs / 1000).toFixed(1)} s, ` +
    `${report.accepted} accepted / ${report.refused} refused (${report.points} points recorded), ` +
    `heap ${report.heapGrowthBytes >= 0 ? '+' : ''}${(report.heapGrowthBytes / 2 ** 20).toFixed(1)} MiB, seed ${report.seed}`
  );
}
