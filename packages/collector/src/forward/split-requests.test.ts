import { describe, expect, it } from 'vitest';
import { METRIC_CATALOG } from '../aggregate/index.ts';
import { configSchema } from '../config/index.ts';
import { createProtobufCodec } from '../decode/index.ts';
import { cumulativeHistogram, cumulativeSum, resourceMetrics } from '../testing/forward-upstream.ts';
import { splitRequests } from './split-requests.ts';

const codec = createProtobufCodec();
const defaults = configSchema.parse({}).forward;
const DEFAULT_LIMITS = { maxPoints: defaults.maxPointsPerRequest, maxBytes: defaults.maxBytesPerRequest };

/** Every point of the requests, as metric/series → value, in the order sent. */
function pointsOf(bodies: Uint8Array[]): Array<[string, number]> {
  return bodies.flatMap((body) =>
    codec
      .decodeRequest(Buffer.from(body))
      .resources.flatMap((r) => r.metrics)
      .flatMap((m) =>
        m.type === 'sum' ? m.points.map((p): [string, number] => [`${m.name}/${p.attributes[0]![1]}`, p.value!]) : []
      )
  );
}

function series(
  count: number,
  label: (i: number) => string = (i) => `d-${i}`
): Array<[Record<string, string>, number]> {
  return Array.from({ length: count }, (_, i) => [{ dashboard_uid: label(i) }, i + 1]);
}

describe('splitting a collection into requests', () => {
  it('by points: at most maxPoints per request, every point once and in order, across metrics', () => {
    const metrics = resourceMetrics([cumulativeSum('a_total', series(1500)), cumulativeSum('b_total', series(1000))]);
    const { requests, oversize } = splitRequests(metrics, DEFAULT_LIMITS);
    expect(oversize).toEqual([]);
    expect(requests.map((r) => r.points)).toEqual([1000, 1000, 500]);
    const expected = [
      ...series(1500).map(([a, v]) => [`a_total/${a.dashboard_uid}`, v]),
      ...series(1000).map(([a, v]) => [`b_total/${a.dashboard_uid}`, v]),
    ];
    expect(pointsOf(requests.map((r) => r.body))).toEqual(expected);
    for (const request of requests) {
      expect(pointsOf([request.body])).toHaveLength(request.points);
    }
  });

  it('by bytes: a request over maxBytes is halved until it fits, and nothing is lost', () => {
    const long = (i: number) => `${'dashboard-with-a-long-uid-'.repeat(8)}${i}`;
    const metrics = resourceMetrics([cumulativeSum('a_total', series(600, long))]);
    const maxBytes = 16 * 1024;
    const { requests } = splitRequests(metrics, { maxPoints: 1000, maxBytes });
    expect(requests.length).toBeGreaterThan(5);
    for (const request of requests) {
      expect(request.body.length).toBeLessThanOrEqual(maxBytes);
    }
    expect(pointsOf(requests.map((r) => r.body))).toEqual(
      series(600, long).map(([a, v]) => [`a_total/${a.dashboard_uid}`, v])
    );
    expect(requests.reduce((n, r) => n + r.points, 0)).toBe(600);
  });

  it('with the defaults, the largest series the limits let in fits a request, a histogram point too', () => {
    // limits.maxAttributesPerPoint × (limits.maxKeyLength + limits.maxValueLength): the most a series can carry.
    const limits = configSchema.parse({}).limits;
    const widest: Record<string, string> = {};
    for (let i = 0; i < limits.maxAttributesPerPoint; i++) {
      widest[`${String(i).padStart(3, '0')}${'k'.repeat(limits.maxKeyLength - 3)}`] = 'v'.repeat(limits.maxValueLength);
    }
    const buckets = METRIC_CATALOG.filter((m) => m.buckets).map((m) => m.buckets!.length);
    const boundaries = Array.from({ length: Math.max(...buckets) }, (_, i) => 2 ** i);
    const metrics = resourceMetrics([
      cumulativeSum('a_total', [[widest, 7]]),
      cumulativeHistogram('h_seconds', boundaries, [[widest, boundaries.map(() => 1_000_000).concat(1)]]),
    ]);
    const { requests, oversize } = splitRequests(metrics, DEFAULT_LIMITS);
    expect(oversize).toEqual([]);
    expect(requests.reduce((n, r) => n + r.points, 0)).toBe(2);
    for (const request of requests) {
      expect(request.body.length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxBytes);
    }
  });

  it('a point too large for any request is set aside with its metric name, the others still go', () => {
    const metrics = resourceMetrics([
      cumulativeSum('a_total', [...series(3), [{ dashboard_uid: 'x'.repeat(9000) }, 1]]),
    ]);
    const { requests, oversize } = splitRequests(metrics, { maxPoints: 1000, maxBytes: 8192 });
    expect(oversize).toEqual([{ metric: 'a_total', bytes: expect.any(Number) }]);
    expect(oversize[0]!.bytes).toBeGreaterThan(8192);
    expect(pointsOf(requests.map((r) => r.body))).toEqual(series(3).map(([a, v]) => [`a_total/${a.dashboard_uid}`, v]));
  });

  it('an empty collection makes no request', () => {
    expect(splitRequests(resourceMetrics([cumulativeSum('a_total', [])]), DEFAULT_LIMITS).requests).toEqual([]);
  });
});
