/**
 * Random mixes of hostile values — huge, non-finite, negative, mistyped, in another unit, without a
 * value — sent among plausible ones: no non-finite sample ever appears in /metrics, every point is
 * either counted or refused (never silently dropped), and a restart with the state file continues
 * every counter exactly.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { startCollector } from './support/collector.ts';
import { scrape, type Sample } from './support/exposition.ts';
import { attrs, PANEL_RESOURCE } from './support/otlp.ts';

type Value = {
  readonly json: Record<string, unknown>;
  readonly kind: 'plausible' | 'refused' | 'malformed' | 'skipped';
};

const now = BigInt(Date.now()) * 1_000_000n;
const WINDOW = { startTimeUnixNano: String(now - 300_000_000_000n), timeUnixNano: String(now) };

const value: fc.Arbitrary<Value> = fc.oneof(
  fc.integer({ min: 0, max: 20 }).map((n) => ({ json: { asInt: String(n) }, kind: 'plausible' as const })),
  fc.double({ min: 0, max: 300, noNaN: true }).map((n) => ({ json: { asDouble: n }, kind: 'plausible' as const })),
  fc.constantFrom<Value>(
    { json: { asDouble: 1e308 }, kind: 'refused' },
    { json: { asDouble: 1.7976931348623157e308 }, kind: 'refused' },
    { json: { asDouble: 'Infinity' }, kind: 'refused' },
    { json: { asDouble: '-Infinity' }, kind: 'refused' },
    { json: { asDouble: 'NaN' }, kind: 'refused' },
    { json: { asDouble: -1 }, kind: 'refused' },
    { json: { asInt: '9223372036854775807' }, kind: 'refused' },
    { json: { asInt: '-9223372036854775808' }, kind: 'refused' },
    { json: { asDouble: 5e15 }, kind: 'refused' },
    { json: {}, kind: 'refused' },
    { json: { flags: 1 }, kind: 'skipped' },
    { json: { asInt: '1.5' }, kind: 'malformed' },
    { json: { asInt: '1e3' }, kind: 'malformed' },
    { json: { asInt: '0x10' }, kind: 'malformed' },
    { json: { asDouble: 'lots' }, kind: 'malformed' },
    { json: { asInt: true }, kind: 'malformed' }
  )
);

const point = fc.record({
  value,
  dashboard: fc.constantFrom('d1', 'd2', 'd3'),
  unit: fc.constantFrom('s', '', 's', 'ms'),
});
const request = fc.array(point, { minLength: 1, maxLength: 8 });

async function send(
  url: string,
  points: ReadonlyArray<fc.Infer<typeof point>>
): Promise<{ status: number; rejected: number }> {
  const metrics = points.map((p) => ({
    name: 'grafana.dashboard.engaged_time',
    unit: p.unit,
    sum: {
      aggregationTemporality: 1,
      isMonotonic: true,
      dataPoints: [
        {
          ...p.value.json,
          ...WINDOW,
          attributes: attrs([
            ['dashboard.uid', p.dashboard],
            ['engagement.state', 'focused'],
          ]),
        },
      ],
    },
  }));
  const body = {
    resourceMetrics: [
      { resource: { attributes: PANEL_RESOURCE }, scopeMetrics: [{ scope: { name: 'footfall-panel' }, metrics }] },
    ],
  };
  const res = await fetch(`${url}/v1/metrics`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as { partialSuccess?: { rejectedDataPoints?: string } };
  return { status: res.status, rejected: Number(answer.partialSuccess?.rejectedDataPoints ?? 0) };
}

const catalog = (samples: readonly Sample[]) =>
  Object.fromEntries(
    samples
      .filter((s) => !s.name.startsWith('footfall_collector_') && s.name !== 'target_info')
      .map((s) => [`${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`, s.value])
  );

describe('hostile values', () => {
  it('never make a non-finite sample, are counted or refused, and survive a restart exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 12 }), async (requests) => {
        const stateFile = join(mkdtempSync(join(tmpdir(), 'footfall-hostile-')), 'state.json');
        const first = await startCollector({ state: { file: stateFile } });
        let expected = 0;
        try {
          for (const points of requests) {
            const answer = await send(first.url, points);
            if (points.some((p) => p.value.kind === 'malformed')) {
              expect(answer.status).toBe(400);
              continue;
            }
            expect(answer.status).toBe(200);
            const taken = points.filter((p) => p.value.kind === 'plausible' && p.unit !== 'ms');
            // A point in another unit is refused with its metric, even one flagged as holding no value.
            const skipped = points.filter((p) => p.value.kind === 'skipped' && p.unit !== 'ms').length;
            expect(answer.rejected).toBe(points.length - skipped - taken.length);
            for (const p of taken) {
              expected += Number(p.value.json.asInt ?? p.value.json.asDouble);
            }
          }
          const { samples } = await scrape(first.url);
          expect(samples.filter((s) => !Number.isFinite(s.value))).toEqual([]);
          const total = samples
            .filter((s) => s.name === 'footfall_dashboard_engaged_seconds_total')
            .reduce((t, s) => t + s.value, 0);
          expect(total).toBeCloseTo(expected, 6);
          const before = catalog(samples);
          await first.close();
          const second = await startCollector({ state: { file: stateFile } });
          try {
            expect(catalog((await scrape(second.url)).samples)).toEqual(before);
          } finally {
            await second.close();
          }
        } catch (err) {
          await first.close().catch(() => undefined);
          throw err;
        }
      }),
      { numRuns: 25 }
    );
  }, 120_000);
});
