import { beforeEach, describe, expect, test } from 'vitest';
import { AggregationTemporality, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { expectedBuckets } from './testing/otlp.ts';
import { createRecorder, type Recorder } from './instruments.ts';
import { ATTR, METRIC, METRIC_CATALOG } from './names.ts';
import { createOutbox, type PendingPoint } from './outbox.ts';

const KEY = 'footfall.outbox';
const DURATION_BUCKETS = METRIC_CATALOG.find((m) => m.name === METRIC.SESSION_DURATION)!.buckets!;

/** A reader the test collects from by hand, with the panel's DELTA temporality. */
class DeltaReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** The panel's instruments on a real MeterProvider; `collect()` gives what one export would carry. */
function createSource(): { recorder: Recorder; collect(): Promise<ResourceMetrics> } {
  const reader = new DeltaReader();
  const provider = new MeterProvider({ readers: [reader] });
  return {
    recorder: createRecorder(provider.getMeter('footfall-panel')),
    async collect() {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics;
    },
  };
}

const dash = (uid: string) => ({ [ATTR.DASHBOARD_UID]: uid, [ATTR.USER_ROLE]: 'Viewer' });

function sumFor(points: readonly PendingPoint[], metric: string, uid: string): number {
  return points
    .filter((p) => p.descriptor.name === metric && p.attributes[ATTR.DASHBOARD_UID] === uid)
    .reduce((t, p) => t + (p.value.type === 'sum' ? p.value.value : 0), 0);
}

/** A Storage whose every call throws, as when the browser blocks storage for the site. */
const blockedStorage = {
  get length(): number {
    throw new DOMException('blocked', 'SecurityError');
  },
  key: () => {
    throw new DOMException('blocked', 'SecurityError');
  },
  getItem: () => {
    throw new DOMException('blocked', 'SecurityError');
  },
  setItem: () => {
    throw new DOMException('blocked', 'SecurityError');
  },
  removeItem: () => {
    throw new DOMException('blocked', 'SecurityError');
  },
  clear: () => undefined,
} as Storage;

beforeEach(() => window.sessionStorage.clear());

describe('outbox', () => {
  test('merges sums of the same series exactly across exports', async () => {
    const source = createSource();
    const outbox = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500 });
    source.recorder.record(METRIC.SESSIONS, 2, dash('a'));
    outbox.add(await source.collect());
    source.recorder.record(METRIC.SESSIONS, 3, dash('a'));
    source.recorder.record(METRIC.SESSIONS, 1, dash('b'));
    source.recorder.record(METRIC.ENGAGED_TIME, 12.5, { ...dash('a'), [ATTR.ENGAGEMENT_STATE]: 'focused' });
    outbox.add(await source.collect());
    source.recorder.record(METRIC.ENGAGED_TIME, 0.25, { ...dash('a'), [ATTR.ENGAGEMENT_STATE]: 'focused' });
    outbox.add(await source.collect());

    expect(outbox.size).toBe(3);
    const points = outbox.take(100);
    expect(sumFor(points, METRIC.SESSIONS, 'a')).toBe(5);
    expect(sumFor(points, METRIC.SESSIONS, 'b')).toBe(1);
    expect(sumFor(points, METRIC.ENGAGED_TIME, 'a')).toBe(12.75);
    expect(outbox.size).toBe(0);
  });

  test('merges histogram buckets, sum, count, min and max exactly', async () => {
    const source = createSource();
    const outbox = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500 });
    const first = [5, 45, 300];
    const second = [45, 4000, 40_000, 10];
    for (const v of first) source.recorder.record(METRIC.SESSION_DURATION, v, dash('a'));
    outbox.add(await source.collect());
    for (const v of second) source.recorder.record(METRIC.SESSION_DURATION, v, dash('a'));
    outbox.add(await source.collect());

    const [point] = outbox.take(100);
    const all = [...first, ...second];
    expect(point?.value).toEqual({
      type: 'histogram',
      boundaries: [...DURATION_BUCKETS],
      counts: expectedBuckets(DURATION_BUCKETS, all),
      sum: all.reduce((a, b) => a + b, 0),
      count: all.length,
      min: Math.min(...all),
      max: Math.max(...all),
    });
  });

  test('a failed send put back is merged with what was recorded meanwhile, nothing lost or doubled', async () => {
    const source = createSource();
    const outbox = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500 });
    source.recorder.record(METRIC.SESSIONS, 2, dash('a'));
    source.recorder.record(METRIC.SESSIONS, 1, dash('b'));
    source.recorder.record(METRIC.SESSION_DURATION, 20, dash('a'));
    outbox.add(await source.collect());

    const inFlight = outbox.take(2);
    expect(inFlight).toHaveLength(2);
    expect(outbox.size).toBe(1);
    source.recorder.record(METRIC.SESSIONS, 4, dash('a'));
    source.recorder.record(METRIC.SESSIONS, 7, dash('b'));
    source.recorder.record(METRIC.SESSION_DURATION, 700, dash('a'));
    outbox.add(await source.collect());
    outbox.restore(inFlight); // the send failed

    expect(outbox.size).toBe(3);
    const points = outbox.take(100);
    expect(sumFor(points, METRIC.SESSIONS, 'a')).toBe(6);
    expect(sumFor(points, METRIC.SESSIONS, 'b')).toBe(8);
    const duration = points.find((p) => p.descriptor.name === METRIC.SESSION_DURATION)!.value;
    expect(duration).toMatchObject({ count: 2, sum: 720, counts: expectedBuckets(DURATION_BUCKETS, [20, 700]) });
  });

  test('keeps at most maxSeries series and counts the points it turns away', async () => {
    const source = createSource();
    const outbox = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 3 });
    for (const uid of ['a', 'b', 'c', 'd', 'e']) source.recorder.record(METRIC.SESSIONS, 1, dash(uid));
    outbox.add(await source.collect());
    expect(outbox.size).toBe(3);
    expect(outbox.dropped).toBe(2);

    // Series already kept still add up when the outbox is full.
    const taken = outbox.take(3);
    const kept = taken.map((p) => p.attributes[ATTR.DASHBOARD_UID] as string);
    outbox.restore(taken);
    for (const uid of kept) source.recorder.record(METRIC.SESSIONS, 10, dash(uid));
    source.recorder.record(METRIC.SESSIONS, 1, dash('f'));
    outbox.add(await source.collect());
    expect(outbox.size).toBe(3);
    expect(outbox.dropped).toBe(3);
    const points = outbox.take(100);
    for (const uid of kept) expect(sumFor(points, METRIC.SESSIONS, uid)).toBe(11);
  });

  test('is kept in sessionStorage: the next page of the tab (a reload) loads it', async () => {
    const source = createSource();
    const before = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500 });
    source.recorder.record(METRIC.SESSIONS, 3, dash('a'));
    source.recorder.record(METRIC.SESSION_DURATION, 42, dash('a'));
    before.add(await source.collect());

    const after = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500 });
    expect(after.size).toBe(2);
    const points = after.take(100);
    expect(sumFor(points, METRIC.SESSIONS, 'a')).toBe(3);
    expect(points.find((p) => p.descriptor.name === METRIC.SESSION_DURATION)?.value).toMatchObject({ count: 1, sum: 42 });
    // What was taken for sending is no longer there for a third page.
    expect(createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500 }).size).toBe(0);
  });

  test.each([
    ['not JSON', '{"resourceMetrics":'],
    ['not a list', '{"key":"x"}'],
    ['a list of junk', '[1, null, "x", {"key": 3}, {"key": "k", "descriptor": {}}]'],
  ])('starts empty from corrupt storage (%s), without throwing', async (_name, text) => {
    window.sessionStorage.setItem(KEY, text);
    const outbox = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500 });
    expect(outbox.size).toBe(0);
    expect(outbox.take(10)).toEqual([]);
    // And works from there.
    const source = createSource();
    source.recorder.record(METRIC.SESSIONS, 1, dash('a'));
    outbox.add(await source.collect());
    expect(sumFor(outbox.take(10), METRIC.SESSIONS, 'a')).toBe(1);
  });

  test('keeps valid entries of storage that also holds junk', async () => {
    const source = createSource();
    const first = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500 });
    source.recorder.record(METRIC.SESSIONS, 4, dash('a'));
    first.add(await source.collect());
    const stored = JSON.parse(window.sessionStorage.getItem(KEY)!) as unknown[];
    window.sessionStorage.setItem(KEY, JSON.stringify([null, ...stored, { key: 'x' }]));
    const outbox = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500 });
    expect(outbox.size).toBe(1);
    expect(sumFor(outbox.take(10), METRIC.SESSIONS, 'a')).toBe(4);
  });

  test('works in memory when storage is blocked or full', async () => {
    const source = createSource();
    const blocked = createOutbox({ storage: blockedStorage, storageKey: KEY, maxSeries: 500 });
    const full = createOutbox({
      storage: Object.assign(Object.create(window.sessionStorage) as Storage, {
        getItem: () => null,
        setItem: () => {
          throw new DOMException('quota', 'QuotaExceededError');
        },
        removeItem: () => undefined,
      }),
      storageKey: KEY,
      maxSeries: 500,
    });
    source.recorder.record(METRIC.SESSIONS, 2, dash('a'));
    const metrics = await source.collect();
    blocked.add(metrics);
    full.add(metrics);
    expect(sumFor(blocked.take(10), METRIC.SESSIONS, 'a')).toBe(2);
    expect(sumFor(full.take(10), METRIC.SESSIONS, 'a')).toBe(2);
  });
});
