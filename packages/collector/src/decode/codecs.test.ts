import { MetricReader, MeterProvider, AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { describe, expect, it } from 'vitest';
import { RequestError } from '../errors.ts';
import { createJsonCodec } from './json-codec.ts';
import { createProtobufCodec } from './protobuf-codec.ts';

class DeltaReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA });
  }
  protected override onForceFlush = () => Promise.resolve();
  protected override onShutdown = () => Promise.resolve();
}

/** A request as the OTel JS SDK builds it: a counter, an int counter, a histogram and a gauge. */
async function sdkRequest() {
  const reader = new DeltaReader();
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter('test');
  meter.createCounter('c').add(3.5, { 'dashboard.uid': 'd1', n: 7, ok: true, list: ['a'] as unknown as string });
  meter.createCounter('ci', { valueType: 1 }).add(4, { 'dashboard.uid': 'd2' });
  meter.createHistogram('h', { advice: { explicitBucketBoundaries: [1, 10] } }).record(5, { k: 'v' });
  meter.createGauge('g').record(-2);
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics;
}

describe('codecs', () => {
  const json = createJsonCodec();
  const protobuf = createProtobufCodec();

  it('decode the same SDK request to the same model from JSON and from protobuf', async () => {
    const rm = await sdkRequest();
    const fromJson = json.decodeRequest(Buffer.from(JsonMetricsSerializer.serializeRequest(rm)!));
    const fromProto = protobuf.decodeRequest(Buffer.from(ProtobufMetricsSerializer.serializeRequest(rm)!));
    expect(fromProto).toEqual(fromJson);
    const metrics = fromJson.resources[0]!.metrics;
    expect(metrics.map((m) => [m.name, m.type])).toEqual([
      ['c', 'sum'],
      ['ci', 'sum'],
      ['h', 'histogram'],
      ['g', 'gauge'],
    ]);
    const c = metrics[0]!;
    expect(c.type === 'sum' && c.temporality).toBe('delta');
    expect(c.type === 'sum' && c.points[0]).toMatchObject({
      value: 3.5,
      noRecordedValue: false,
      // the array value is dropped; scalars keep their type
      attributes: [
        ['dashboard.uid', 'd1'],
        ['n', '7'],
        ['ok', true],
      ],
    });
    const h = metrics[2]!;
    expect(h.type === 'histogram' && h.points[0]).toMatchObject({
      count: 1,
      sum: 5,
      bucketCounts: [0, 1, 0],
      explicitBounds: [1, 10],
    });
    const g = metrics[3]!;
    expect(g.type === 'gauge' && g.points[0]!.value).toBe(-2);
    // The SDK's point window, in seconds since the epoch.
    const p = c.type === 'sum' ? c.points[0]! : undefined;
    expect(p!.time).toBeGreaterThan(1.7e9);
    expect(p!.time).toBeGreaterThanOrEqual(p!.startTime);
  });

  it('reads the proto field names (snake_case) exactly as the JSON names, as the OTel Collector does', async () => {
    const camel = JSON.parse(
      Buffer.from(JsonMetricsSerializer.serializeRequest(await sdkRequest())!).toString()
    ) as unknown;
    const snake = (value: unknown): unknown => {
      if (Array.isArray(value)) {
        return value.map(snake);
      }
      if (typeof value !== 'object' || value === null) {
        return value;
      }
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snake(v)])
      );
    };
    const snakeBody = snake(camel);
    expect(JSON.stringify(snakeBody)).toContain('"resource_metrics"');
    expect(JSON.stringify(snakeBody)).toContain('"as_double"');
    expect(json.decodeRequest(Buffer.from(JSON.stringify(snakeBody)))).toEqual(
      json.decodeRequest(Buffer.from(JSON.stringify(camel)))
    );
  });

  it('reads the no-recorded-value flag and a point without a value', () => {
    const body = {
      resourceMetrics: [
        {
          scopeMetrics: [
            { metrics: [{ name: 'm', sum: { dataPoints: [{ flags: 1 }, { flags: 0, asInt: '3' }, {}] } }] },
          ],
        },
      ],
    };
    const m = json.decodeRequest(Buffer.from(JSON.stringify(body))).resources[0]!.metrics[0]!;
    expect(m.type === 'sum' && m.points.map((p) => [p.noRecordedValue, p.value])).toEqual([
      [true, undefined],
      [false, 3],
      [false, undefined],
    ]);
  });

  it('accepts int64 as string or number, enum names, and ignores unknown fields (proto3 JSON mapping)', () => {
    const body = {
      unknownTopLevel: { deep: [1, 2] },
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'm',
                  futureField: 'x',
                  sum: {
                    aggregationTemporality: 'AGGREGATION_TEMPORALITY_DELTA',
                    isMonotonic: true,
                    dataPoints: [
                      { asInt: '9007199254740991', timeUnixNano: '1' },
                      { asInt: 12, attributes: [{ key: 'i', value: { intValue: '5' } }] },
                      { asDouble: 'NaN' },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const model = json.decodeRequest(Buffer.from(JSON.stringify(body)));
    const m = model.resources[0]!.metrics[0]!;
    expect(m.type === 'sum' && m.points.map((p) => p.value)).toEqual([9007199254740991, 12, NaN]);
    expect(m.type === 'sum' && m.points[1]!.attributes).toEqual([['i', '5']]);
  });

  it('writes an integer attribute value in one canonical form ("007", 7 and "7" are one label value)', () => {
    const values = ['007', 7, '7', '-0'].map((intValue) => ({ key: 'i', value: { intValue } }));
    const body = {
      resourceMetrics: [
        { scopeMetrics: [{ metrics: [{ name: 'm', sum: { dataPoints: [{ asInt: 1, attributes: values }] } }] }] },
      ],
    };
    const m = json.decodeRequest(Buffer.from(JSON.stringify(body))).resources[0]!.metrics[0]!;
    expect(m.type === 'sum' && m.points[0]!.attributes.map(([, v]) => v)).toEqual(['7', '7', '7', '0']);
  });

  it('reads an empty attribute key alike from both encodings (protobuf leaves it off the wire)', async () => {
    const reader = new DeltaReader();
    new MeterProvider({ readers: [reader] }).getMeter('t').createCounter('c').add(1, { '': 'x', k: 'v' });
    const { resourceMetrics } = await reader.collect();
    const fromProtobuf = protobuf.decodeRequest(
      Buffer.from(ProtobufMetricsSerializer.serializeRequest(resourceMetrics)!)
    );
    const fromJson = json.decodeRequest(Buffer.from(JsonMetricsSerializer.serializeRequest(resourceMetrics)!));
    const points = (model: typeof fromJson) => {
      const m = model.resources[0]!.metrics[0]!;
      return m.type === 'sum' ? m.points.map((p) => p.attributes) : undefined;
    };
    expect(points(fromProtobuf)).toEqual([
      [
        ['', 'x'],
        ['k', 'v'],
      ],
    ]);
    expect(points(fromJson)).toEqual(points(fromProtobuf));
  });

  it('counts exponential histograms and summaries as unsupported points', () => {
    const body = {
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                { name: 'e', exponentialHistogram: { dataPoints: [{}, {}] } },
                { name: 's', summary: { dataPoints: [{}] } },
                { name: 'none' },
              ],
            },
          ],
        },
      ],
    };
    const model = json.decodeRequest(Buffer.from(JSON.stringify(body)));
    expect(model.resources[0]!.metrics.map((m) => m.type === 'unsupported' && m.pointCount)).toEqual([2, 1, 0]);
    expect(model.resources[0]!.metrics.map((m) => m.type)).toEqual(['unsupported', 'unsupported', 'unsupported']);
  });

  it.each([
    ['not JSON', '{"resourceMetrics": [', /invalid JSON/],
    ['a non-object root', '[1,2]', /request must be an object/],
    ['resourceMetrics of the wrong type', '{"resourceMetrics": {}}', /resourceMetrics must be an array/],
    [
      'a string counter value',
      '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","sum":{"dataPoints":[{"asDouble":"many"}]}}]}]}]}',
      /resourceMetrics\[0\]\.scopeMetrics\[0\]\.metrics\[0\]\.sum\.dataPoints\[0\]\.asDouble must be a number/,
    ],
    ...(
      [
        ['"1.5"', 'asInt'],
        ['1.5', 'asInt'],
        ['"1e3"', 'asInt'],
        ['"0x10"', 'asInt'],
        ['" 7"', 'asInt'],
        ['""', 'asInt'],
        ['"-3"', 'count'],
        ['-3', 'count'],
        ['"2.5"', 'count'],
        ['"0x10"', 'asDouble'],
        ['"  "', 'asDouble'],
        ['"1.5"', 'timeUnixNano'],
      ] as const
    ).map(
      ([value, field]) =>
        [
          `${field} ${value}`,
          `{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","${field === 'count' ? 'histogram' : 'sum'}":{"dataPoints":[{"${field}":${value}}]}}]}]}]}`,
          new RegExp(`${field} must be a`),
        ] as const
    ),
    [
      'an unknown temporality',
      '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","sum":{"aggregationTemporality":7}}]}]}]}',
      /aggregationTemporality must be 0, 1 or 2/,
    ],
  ])('refuses %s with a 400 naming the problem', (_, text, message) => {
    let error: unknown;
    try {
      json.decodeRequest(Buffer.from(text));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RequestError);
    expect((error as RequestError).status).toBe(400);
    expect((error as RequestError).message).toMatch(message);
  });

  it('refuses bytes that are not an OTLP protobuf message with a 400', () => {
    expect(() => protobuf.decodeRequest(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]))).toThrow(
      /invalid protobuf/
    );
  });

  it('encodes partial success in the request encoding', () => {
    const result = { rejectedDataPoints: 2, errorMessage: 'no' };
    expect(JSON.parse(json.encodeResponse(result).toString())).toEqual({
      partialSuccess: { rejectedDataPoints: '2', errorMessage: 'no' },
    });
    expect(json.encodeResponse({ rejectedDataPoints: 0, errorMessage: '' }).toString()).toBe('{}');
    expect(protobuf.encodeResponse({ rejectedDataPoints: 0, errorMessage: '' }).length).toBe(0);
    const deserialized = ProtobufMetricsSerializer.deserializeResponse(protobuf.encodeResponse(result));
    expect(deserialized.partialSuccess?.errorMessage).toBe('no');
    expect(Number(deserialized.partialSuccess?.rejectedDataPoints)).toBe(2);
  });
});
