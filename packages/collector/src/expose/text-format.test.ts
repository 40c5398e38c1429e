import type { AttributeValue, Attributes } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createTextFormatRenderer, SLICE_POINTS } from './text-format.ts';

/** The reference: the exporter's serializer as the exposition configures the exporter (no prefix, no timestamps, target_info, no scope labels). */
const reference = (resourceMetrics: ResourceMetrics): Buffer =>
  Buffer.from(new PrometheusSerializer(undefined, false, undefined, false, true).serialize(resourceMetrics));

const TIME: [number, number] = [1_700_000_000, 0];

/** Label values that have broken exposition formats: quotes, backslashes, newlines, unicode, empty, very long. */
const hostileText = fc.oneof(
  fc.constantFrom(
    '',
    '"',
    '\\',
    '\n',
    '\\n',
    '\\"',
    '"\\\n"',
    '\r\n',
    '\t',
    'é',
    'Ω≈ç',
    '🙂',
    '\u2028',
    '\u0000',
    '{a="b"}',
    'le',
    ' x ',
    '# HELP'
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('"', '\\', '\n', 'a', '€'), maxLength: 40 }),
  fc.string({ unit: 'grapheme', minLength: 2000, maxLength: 5000 })
);
const attributeValue: fc.Arbitrary<AttributeValue> = fc.oneof(
  { weight: 6, arbitrary: hostileText },
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.array(hostileText, { maxLength: 3 })
);
const attributeName = fc.oneof(
  fc.constantFrom('dashboard.uid', 'dashboard_name', 'le', 'a-b', '__x', '0start', 'otel.metric.overflow', ''),
  fc.string({ maxLength: 12 })
);
const attributes: fc.Arbitrary<Attributes> = fc.dictionary(attributeName, attributeValue, { maxKeys: 5 });
/** A few names, so metrics collide in one family (same or conflicting types), plus odd ones the exporter renames or refuses. */
const metricName = fc.oneof(
  fc.constantFrom(
    'grafana.dashboard.sessions',
    'footfall_dashboard_heartbeats_total',
    'target_info',
    'dup',
    '9lives',
    'a..b',
    '_',
    '',
    'x\\n\ny'
  ),
  fc.string({ maxLength: 16 })
);
const description = fc.oneof(fc.constant(''), hostileText);
const unit = fc.oneof(fc.constantFrom('', 's', '{session}', '1'), hostileText);
// Whole numbers too, which the renderer writes digit by digit: every length of them, and the edges.
const number = fc.oneof(
  fc.double(),
  fc.nat(),
  fc.maxSafeNat(),
  fc.constantFrom(Infinity, -Infinity, NaN, 0, -0, 1e21, 5e-324, 9, 10, 99, 100, 2 ** 53 - 1, 2 ** 53, -1)
);

function descriptor(name: string, help: string, u: string) {
  return { name, description: help, unit: u, valueType: ValueType.DOUBLE };
}

const pointsOf = <T>(value: fc.Arbitrary<T>, shared: Attributes[]) =>
  fc
    .array(
      fc.record({
        // Some points share one attributes object, as the SDK's series do across collections.
        attributes: shared.length > 0 ? fc.oneof(attributes, fc.constantFrom(...shared)) : attributes,
        value,
      }),
      { maxLength: 6 }
    )
    .map((points) => points.map((p) => ({ ...p, startTime: TIME, endTime: TIME })));

function metric(shared: Attributes[]): fc.Arbitrary<MetricData> {
  const common = { aggregationTemporality: AggregationTemporality.CUMULATIVE };
  const sum = fc
    .record({ name: metricName, help: description, u: unit, monotonic: fc.boolean(), points: pointsOf(number, shared) })
    .map((m): MetricData => ({
      ...common,
      descriptor: descriptor(m.name, m.help, m.u),
      dataPointType: DataPointType.SUM,
      isMonotonic: m.monotonic,
      dataPoints: m.points,
    }));
  const gauge = fc
    .record({ name: metricName, help: description, u: unit, points: pointsOf(number, shared) })
    .map((m): MetricData => ({
      ...common,
      descriptor: descriptor(m.name, m.help, m.u),
      dataPointType: DataPointType.GAUGE,
      dataPoints: m.points,
    }));
  const histogramValue = fc
    .tuple(
      fc
        .uniqueArray(fc.oneof(fc.double({ noNaN: true }), fc.constant(Infinity)), { maxLength: 5 })
        .map((b) => b.sort((x, y) => x - y)),
      fc.boolean(),
      fc.option(number, { nil: undefined })
    )
    .chain(([boundaries, withoutOverflowBucket, sum]) =>
      fc
        .array(fc.nat(1000), {
          minLength: boundaries.length + (withoutOverflowBucket ? 0 : 1),
          maxLength: boundaries.length + (withoutOverflowBucket ? 0 : 1),
        })
        .map((counts) => ({
          buckets: { boundaries, counts },
          sum,
          count: counts.reduce((a, b) => a + b, 0),
        }))
    );
  const histogram = fc
    .record({ name: metricName, help: description, u: unit, points: pointsOf(histogramValue, shared) })
    .map((m): MetricData => ({
      ...common,
      descriptor: descriptor(m.name, m.help, m.u),
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: m.points,
    }));
  return fc.oneof(sum, gauge, histogram);
}

const collection: fc.Arbitrary<ResourceMetrics> = fc
  .tuple(fc.array(attributes, { maxLength: 3 }), attributes)
  .chain(([shared, resource]) =>
    fc
      .array(
        fc.record({
          scope: fc.constantFrom('footfall', 'footfall-dashboards', 'footfall-collector'),
          metrics: fc.array(metric(shared), { maxLength: 5 }),
        }),
        { maxLength: 3 }
      )
      .map((scopes) => ({
        resource: resourceFromAttributes(resource),
        scopeMetrics: scopes.map((s) => ({ scope: { name: s.scope }, metrics: s.metrics })),
      }))
  );

describe('the text-format renderer against @opentelemetry/exporter-prometheus', () => {
  it('writes exactly the exporter’s page for any collection: families, HELP/TYPE/UNIT, escaping, series and values', async () => {
    await fc.assert(
      fc.asyncProperty(collection, async (resourceMetrics) => {
        const renderer = createTextFormatRenderer();
        const expected = reference(resourceMetrics);
        // Bytes from encoded strings on both sides: equal text is equal bytes, and a failure reads as text.
        expect(Buffer.concat(await renderer.render(resourceMetrics)).toString('utf8')).toBe(expected.toString('utf8'));
        // Again with every label text taken from the renderer's cache.
        expect(Buffer.concat(await renderer.render(resourceMetrics)).equals(expected)).toBe(true);
      }),
      { numRuns: 300 }
    );
  });

  it('stays equal over many buffers and yields, with a series’ labels kept from one collection to the next', async () => {
    const renderer = createTextFormatRenderer();
    const long = 'é'.repeat(150);
    const series = Array.from({ length: SLICE_POINTS * 2 + 7 }, (_, i) => ({
      'dashboard.uid': `d${i}`,
      'dashboard.name': `say "hi"\\\n${long}${i}`,
    }));
    const collect = (value: number): ResourceMetrics => ({
      resource: resourceFromAttributes({ 'service.name': 'footfall-collector' }),
      scopeMetrics: [
        {
          scope: { name: 'footfall' },
          metrics: [
            {
              descriptor: descriptor('grafana_analytics_sessions_total', 'Sessions.', '{session}'),
              aggregationTemporality: AggregationTemporality.CUMULATIVE,
              dataPointType: DataPointType.SUM,
              isMonotonic: true,
              dataPoints: series.map((attributes, i) => ({
                attributes,
                startTime: TIME,
                endTime: TIME,
                value: value + i,
              })),
            },
          ],
        },
      ],
    });
    const first = await renderer.render(collect(1));
    expect(first.length).toBeGreaterThan(2);
    expect(Buffer.concat(first).equals(reference(collect(1)))).toBe(true);
    // The next collection's values, not the first one's, under the same label text.
    expect(Buffer.concat(await renderer.render(collect(5))).equals(reference(collect(5)))).toBe(true);
  });
});
