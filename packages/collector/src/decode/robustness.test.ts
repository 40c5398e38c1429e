import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RequestError } from '../errors.ts';
import { createJsonCodec } from './json-codec.ts';
import { createProtobufCodec } from './protobuf-codec.ts';

/** A body either decodes or is refused with a 400; nothing else may escape a decoder. */
function decodesOrRefuses(decode: () => unknown): void {
  try {
    decode();
  } catch (err) {
    expect(err).toBeInstanceOf(RequestError);
    expect((err as RequestError).status).toBe(400);
  }
}

const small = () => fc.anything({ maxDepth: 2, maxKeys: 3 });

const anyValue = fc.oneof(
  fc.record({ stringValue: fc.oneof(fc.string(), fc.integer()) }, { requiredKeys: [] }),
  fc.record({ intValue: fc.oneof(fc.string(), fc.integer(), fc.constant(null)) }, { requiredKeys: [] }),
  fc.record({ arrayValue: small() }, { requiredKeys: [] }),
  small()
);
const point = fc.record(
  {
    attributes: fc.oneof(
      fc.array(fc.record({ key: fc.oneof(fc.string(), small()), value: anyValue }, { requiredKeys: [] })),
      small()
    ),
    asInt: fc.oneof(fc.string(), fc.integer(), small()),
    asDouble: fc.oneof(fc.double(), fc.constantFrom('NaN', 'Infinity', 'x'), small()),
    bucketCounts: fc.oneof(fc.array(fc.oneof(fc.integer(), fc.string())), small()),
  },
  { requiredKeys: [] }
);
const metric = fc.record(
  {
    name: fc.oneof(fc.string(), small()),
    sum: fc.oneof(
      fc.record(
        { dataPoints: fc.array(point, { maxLength: 4 }), aggregationTemporality: small() },
        { requiredKeys: [] }
      ),
      small()
    ),
    histogram: fc.record({ dataPoints: fc.array(point, { maxLength: 4 }) }, { requiredKeys: [] }),
    gauge: small(),
  },
  { requiredKeys: [] }
);
const request = fc.oneof(
  fc.record({
    resourceMetrics: fc.array(
      fc.record({ scopeMetrics: fc.array(fc.record({ metrics: fc.array(metric, { maxLength: 4 }) })) })
    ),
  }),
  small()
);

describe('decoders on hostile input', () => {
  const json = createJsonCodec();
  const protobuf = createProtobufCodec();

  it('JSON: any value of any shape decodes or gets a 400', () => {
    fc.assert(
      fc.property(request, (body) =>
        decodesOrRefuses(() => json.decodeRequest(Buffer.from(JSON.stringify(body) ?? 'null')))
      ),
      { numRuns: 2000 }
    );
  });

  it('JSON: arbitrary bytes decode or get a 400', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) =>
        decodesOrRefuses(() => json.decodeRequest(Buffer.from(bytes)))
      ),
      {
        numRuns: 2000,
      }
    );
  });

  it('protobuf: arbitrary bytes decode or get a 400', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) =>
        decodesOrRefuses(() => protobuf.decodeRequest(Buffer.from(bytes)))
      ),
      { numRuns: 2000 }
    );
  });
});
