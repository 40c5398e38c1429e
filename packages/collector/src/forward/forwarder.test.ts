import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  TEST_SCOPE,
  cumulativeSum,
  settableCatalog,
  startRecordingUpstream,
  type RecordingUpstream,
} from '../testing/forward-upstream.ts';
import type { ForwardLoss, ForwardResult } from './forward-exporter.ts';
import { createForwarder, type Forwarder, type ForwardSettings } from './forwarder.ts';

/** What the forward stage counted, as the self-metrics would. */
class Counts {
  readonly exported: Record<string, number> = {};
  readonly lost: Record<string, number> = {};
  readonly report = {
    exported: (result: ForwardResult) => void (this.exported[result] = (this.exported[result] ?? 0) + 1),
    lost: (points: number, reason: ForwardLoss) => void (this.lost[reason] = (this.lost[reason] ?? 0) + points),
  };
}

const KEPT = 'export to the upstream failed: its points are kept for the next interval, up to forward.queuePoints';

let upstream: RecordingUpstream;
let forwarder: Forwarder | undefined;
let counts: Counts;
let logs: Array<Record<string, unknown>>;
const catalog = settableCatalog();

beforeEach(async () => {
  upstream = await startRecordingUpstream();
  counts = new Counts();
  logs = [];
  catalog.metrics = [];
});
afterEach(async () => {
  await forwarder?.shutdown();
  forwarder = undefined;
  await upstream.close();
});

/** Short, so an upstream answering 503 fails at once: the transport's first back-off (1 s) does not fit. */
const FAIL_FAST = { timeoutMs: 300 } as const;

function start(settings: Partial<ForwardSettings> = {}): Forwarder {
  forwarder = createForwarder({
    url: upstream.url,
    headers: {},
    compression: 'gzip',
    temporality: 'delta',
    // Only forceFlush exports: each one is "the next interval".
    intervalMs: 3_600_000,
    // Long enough for a busy machine to answer 1,000 points; the tests of a failing upstream use FAIL_FAST.
    timeoutMs: 10_000,
    tls: { insecureSkipVerify: false },
    maxPointsPerRequest: 1000,
    maxBytesPerRequest: 64 * 1024,
    queuePoints: 100_000,
    meterName: TEST_SCOPE,
    derivedNames: new Set(),
    catalog,
    resource: { 'service.name': 'footfall-collector', 'service.instance.id': 'replica-1' },
    report: counts.report,
    logger: pino(
      { level: 'info' },
      { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) }
    ),
    ...settings,
  });
  return forwarder;
}

/** Sets the catalog's cumulative totals: one series per dashboard of `footfall_test_total`. */
function totals(values: Record<string, number>): void {
  catalog.metrics = [
    cumulativeSum(
      'footfall_test_total',
      Object.entries(values).map(([uid, v]) => [{ dashboard_uid: uid }, v])
    ),
  ];
}

/** What the upstream took (answered 200), summed per series. */
function deliveredSums(): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const request of upstream.delivered()) {
    for (const p of request.points) {
      sums[String(p.attributes.dashboard_uid)] = (sums[String(p.attributes.dashboard_uid)] ?? 0) + p.value;
    }
  }
  return sums;
}

describe('the forward stage', () => {
  it('splits a collection to the upstream limits: 2,500 series in requests of 1,000, all delivered once', async () => {
    const values = Object.fromEntries(Array.from({ length: 2500 }, (_, i) => [`d-${i}`, i + 1]));
    totals(values);
    await start({ temporality: 'cumulative' }).forceFlush();
    expect(upstream.received.map((r) => r.points.length)).toEqual([1000, 1000, 500]);
    expect(deliveredSums()).toEqual(values);
    expect(counts.exported).toEqual({ ok: 3 });
    expect(counts.lost).toEqual({});
    for (const request of upstream.received) {
      expect(request.resource['service.instance.id']).toBe('replica-1');
    }
  });

  it('stamps each export with its own time: a series that did not change is not sent with an old one', async () => {
    // The stores end a point when its total last changed (cumulativeSum's points end in 2023).
    totals({ a: 1 });
    const f = start({ temporality: 'cumulative' });
    const before = Date.now() / 1000;
    await f.forceFlush();
    await f.forceFlush();
    const times = upstream.received.map((r) => r.points[0]!.time);
    expect(times).toHaveLength(2);
    expect(times[0]).toBeGreaterThanOrEqual(before - 1);
    expect(times[1]).toBeGreaterThanOrEqual(times[0]!);
  });

  it('splits by bytes: no request body over maxBytesPerRequest once decompressed', async () => {
    const values = Object.fromEntries(
      Array.from({ length: 300 }, (_, i) => [`${'a-long-dashboard-uid-'.repeat(12)}${i}`, i + 1])
    );
    totals(values);
    await start({ temporality: 'cumulative', maxBytesPerRequest: 16 * 1024 }).forceFlush();
    expect(upstream.received.length).toBeGreaterThan(4);
    for (const request of upstream.received) {
      expect(request.bytes).toBeLessThanOrEqual(16 * 1024);
    }
    expect(deliveredSums()).toEqual(values);
  });

  it('counts the points a partial success rejects as failed, and logs the upstream message without label values', async () => {
    totals({ 'secret-dashboard-uid': 4, 'd-2': 1, 'd-3': 2 });
    upstream.replies = [{ rejected: 2, message: 'footfall_test_total: 2 points refused (series_budget)' }];
    await start().forceFlush();
    expect(counts.exported).toEqual({ partial: 1 });
    expect(counts.lost).toEqual({ rejected: 2 });
    const warning = logs.find((l) => l.msg === 'the upstream rejected points of an export (partial success)');
    expect(warning).toMatchObject({
      level: 40,
      rejected: 2,
      points: 3,
      upstreamMessage: 'footfall_test_total: 2 points refused (series_budget)',
    });
    expect(JSON.stringify(logs)).not.toContain('secret-dashboard-uid');
    // Rejected points are not sent again.
    await forwarder!.forceFlush();
    expect(upstream.received).toHaveLength(1);
  });

  it('keeps a failed delta export queued and sends it first at the next interval, exactly once', async () => {
    totals({ a: 1, b: 1 });
    upstream.replies = [{ status: 503 }];
    const f = start(FAIL_FAST);
    await f.forceFlush();
    expect(upstream.received.map((r) => r.status)).toEqual([503]);
    expect(f.queuedPoints()).toBe(2);
    expect(counts.exported).toEqual({ failed: 1 });
    expect(counts.lost).toEqual({});
    expect(logs.find((l) => l.msg === KEPT)).toMatchObject({ queuedPoints: 2 });

    totals({ a: 3, b: 1, c: 5 });
    await f.forceFlush();
    const [, first, second] = upstream.received;
    expect(first!.points.map((p) => [p.attributes.dashboard_uid, p.value])).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    expect(second!.points.map((p) => [p.attributes.dashboard_uid, p.value])).toEqual([
      ['a', 2],
      ['c', 5],
    ]);
    expect(f.queuedPoints()).toBe(0);
    await f.forceFlush();
    expect(upstream.received).toHaveLength(3);
    expect(deliveredSums()).toEqual({ a: 3, b: 1, c: 5 });
    expect(counts.exported).toEqual({ failed: 1, ok: 2 });
    expect(counts.lost).toEqual({});
    expect(logs.some((l) => l.msg === 'the upstream takes exports again')).toBe(true);
  });

  it('retries the queue even at an interval with nothing new', async () => {
    totals({ a: 1 });
    upstream.replies = [{ status: 502 }];
    const f = start(FAIL_FAST);
    await f.forceFlush();
    await f.forceFlush();
    expect(upstream.received.map((r) => r.status)).toEqual([502, 200]);
    expect(deliveredSums()).toEqual({ a: 1 });
  });

  it('keeps at most queuePoints: past it the oldest queued points are dropped and counted', async () => {
    const f = start({ ...FAIL_FAST, queuePoints: 3 });
    upstream.replies = [{ status: 503 }, { status: 503 }, { status: 503 }];
    totals({ a: 1, b: 1 });
    await f.forceFlush();
    totals({ a: 2, b: 2 });
    await f.forceFlush();
    expect(f.queuedPoints()).toBeLessThanOrEqual(3);
    totals({ a: 3, b: 3 });
    await f.forceFlush();
    expect(f.queuedPoints()).toBe(2);
    expect(counts.lost).toEqual({ queue_full: 4 });
    expect(logs.filter((l) => l.msg === KEPT).map((l) => l.droppedPoints)).toEqual([0, 2, 2]);

    await f.forceFlush();
    // Only the newest round was still queued: its deltas arrive, the two dropped rounds never do.
    expect(upstream.delivered().map((r) => r.points.map((p) => p.value))).toEqual([[1, 1]]);
    expect(f.queuedPoints()).toBe(0);
  });

  it('does not queue cumulative exports: a failed one is counted, and the next carries the totals', async () => {
    totals({ a: 1, b: 1 });
    upstream.replies = [{ status: 503 }];
    const f = start({ ...FAIL_FAST, temporality: 'cumulative' });
    await f.forceFlush();
    expect(f.queuedPoints()).toBe(0);
    expect(counts.lost).toEqual({ export_failed: 2 });
    expect(
      logs.find((l) => l.msg === 'export to the upstream failed: the next export carries the totals')
    ).toMatchObject({ points: 2 });

    totals({ a: 3, b: 1 });
    await f.forceFlush();
    expect(upstream.delivered()).toHaveLength(1);
    expect(deliveredSums()).toEqual({ a: 3, b: 1 });
  });

  it('does not retry a request the upstream refuses (400): its points are counted and logged', async () => {
    totals({ a: 1 });
    upstream.replies = [{ status: 400 }];
    const f = start();
    await f.forceFlush();
    expect(f.queuedPoints()).toBe(0);
    expect(counts).toMatchObject({ exported: { failed: 1 }, lost: { refused: 1 } });
    expect(logs.find((l) => l.msg === 'the upstream refused an export')).toMatchObject({
      level: 50,
      status: 400,
      points: 1,
    });
    totals({ a: 2 });
    await f.forceFlush();
    expect(upstream.delivered().map((r) => r.points.map((p) => p.value))).toEqual([[1]]);
  });

  it('counts a point too large for any request every time, and logs it once', async () => {
    catalog.metrics = [
      cumulativeSum('footfall_test_total', [
        [{ dashboard_uid: 'x'.repeat(9000) }, 1],
        [{ dashboard_uid: 'small' }, 1],
      ]),
    ];
    const f = start({ temporality: 'cumulative', maxBytesPerRequest: 4096 });
    await f.forceFlush();
    await f.forceFlush();
    expect(counts.lost).toEqual({ too_large: 2 });
    expect(logs.filter((l) => l.msg?.toString().startsWith('a point is too large'))).toEqual([
      expect.objectContaining({ metric: 'footfall_test_total', maxBytesPerRequest: 4096 }),
    ]);
    expect(upstream.delivered().map((r) => r.points.map((p) => p.attributes.dashboard_uid))).toEqual([
      ['small'],
      ['small'],
    ]);
  });

  it('counts the delta points still queued when it shuts down', async () => {
    totals({ a: 1, b: 1 });
    upstream.replies = [{ status: 503 }, { status: 503 }];
    const f = start(FAIL_FAST);
    await f.forceFlush();
    forwarder = undefined;
    await f.shutdown();
    expect(counts.lost).toEqual({ shutdown: 2 });
    expect(logs.find((l) => l.msg === 'queued points could not be forwarded before shutdown')).toMatchObject({
      level: 50,
      points: 2,
    });
  });
});
