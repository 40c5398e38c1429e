import { beforeEach, describe, expect, test } from 'vitest';
import { AggregationTemporality, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { expectedBuckets } from './testing/otlp.ts';
import { createRecorder, type Recorder } from './instruments.ts';
import { ATTR, METRIC, METRIC_CATALOG } from './names.ts';
import { createOutbox, type PendingPoint } from './outbox.ts';
import { MemoryStorage } from './testing/memory-storage.ts';

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
    for (const v of first) {
      source.recorder.record(METRIC.SESSION_DURATION, v, dash('a'));
    }
    outbox.add(await source.collect());
    for (const v of second) {
      source.recorder.record(METRIC.SESSION_DURATION, v, dash('a'));
    }
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
    for (const uid of ['a', 'b', 'c', 'd', 'e']) {
      source.recorder.record(METRIC.SESSIONS, 1, dash(uid));
    }
    outbox.add(await source.collect());
    expect(outbox.size).toBe(3);
    expect(outbox.dropped).toBe(2);

    // Series already kept still add up when the outbox is full.
    const taken = outbox.take(3);
    const kept = taken.map((p) => p.attributes[ATTR.DASHBOARD_UID] as string);
    outbox.restore(taken);
    for (const uid of kept) {
      source.recorder.record(METRIC.SESSIONS, 10, dash(uid));
    }
    source.recorder.record(METRIC.SESSIONS, 1, dash('f'));
    outbox.add(await source.collect());
    expect(outbox.size).toBe(3);
    expect(outbox.dropped).toBe(3);
    const points = outbox.take(100);
    for (const uid of kept) {
      expect(sumFor(points, METRIC.SESSIONS, uid)).toBe(11);
    }
  });

  test('is kept in sessionStorage: the next page of the tab (a reload) loads what the page released at pagehide', async () => {
    const source = createSource();
    const before = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500, pageId: 'first' });
    source.recorder.record(METRIC.SESSIONS, 3, dash('a'));
    source.recorder.record(METRIC.SESSION_DURATION, 42, dash('a'));
    before.add(await source.collect());
    before.release();

    const after = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500, pageId: 'second' });
    expect(after.size).toBe(2);
    const points = after.take(100);
    expect(sumFor(points, METRIC.SESSIONS, 'a')).toBe(3);
    expect(points.find((p) => p.descriptor.name === METRIC.SESSION_DURATION)?.value).toMatchObject({
      count: 1,
      sum: 42,
    });
    // What was taken for sending is no longer there for a third page.
    after.release();
    expect(
      createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500, pageId: 'third' }).size
    ).toBe(0);
  });

  test('points put back during the unload (a failed keepalive export) stay released for the next page', async () => {
    const source = createSource();
    const before = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500, pageId: 'first' });
    source.recorder.record(METRIC.SESSIONS, 3, dash('a'));
    before.add(await source.collect());
    before.release();
    const inFlight = before.take(100);
    source.recorder.record(METRIC.SESSIONS, 1, dash('a'));
    before.add(await source.collect());
    before.restore(inFlight);

    const after = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500, pageId: 'second' });
    expect(sumFor(after.take(100), METRIC.SESSIONS, 'a')).toBe(4);
  });

  test("a duplicated tab (Chrome copies sessionStorage) leaves the live tab's pending points to it: sent once", async () => {
    const source = createSource();
    const tab = new MemoryStorage();
    const original = createOutbox({ storage: tab, storageKey: KEY, maxSeries: 500, pageId: 'original' });
    source.recorder.record(METRIC.SESSIONS, 3, dash('a'));
    original.add(await source.collect());

    const duplicateTab = tab.duplicate();
    const duplicate = createOutbox({ storage: duplicateTab, storageKey: KEY, maxSeries: 500, pageId: 'duplicate' });
    expect(duplicate.size).toBe(0);
    expect(duplicate.take(100)).toEqual([]);
    expect(sumFor(original.take(100), METRIC.SESSIONS, 'a')).toBe(3);

    // The duplicate's own points replace the copy in its storage, and its own reload sends only those.
    source.recorder.record(METRIC.SESSIONS, 1, dash('b'));
    duplicate.add(await source.collect());
    duplicate.release();
    const reloaded = createOutbox({
      storage: duplicateTab,
      storageKey: KEY,
      maxSeries: 500,
      pageId: 'duplicate, reloaded',
    });
    const points = reloaded.take(100);
    expect(sumFor(points, METRIC.SESSIONS, 'a')).toBe(0);
    expect(sumFor(points, METRIC.SESSIONS, 'b')).toBe(1);
  });

  test('back from the back/forward cache, the page owns its points again: a later duplicate does not take them', async () => {
    const source = createSource();
    const tab = new MemoryStorage();
    const outbox = createOutbox({ storage: tab, storageKey: KEY, maxSeries: 500, pageId: 'cached' });
    source.recorder.record(METRIC.SESSIONS, 3, dash('a'));
    outbox.add(await source.collect());
    outbox.release();
    outbox.reclaim();

    expect(outbox.size).toBe(1);
    expect(createOutbox({ storage: tab.duplicate(), storageKey: KEY, maxSeries: 500, pageId: 'duplicate' }).size).toBe(
      0
    );
    expect(sumFor(outbox.take(100), METRIC.SESSIONS, 'a')).toBe(3);
  });

  test('back from the back/forward cache after another page of the tab took the points over: they are not sent again', async () => {
    const source = createSource();
    const tab = new MemoryStorage();
    const cached = createOutbox({ storage: tab, storageKey: KEY, maxSeries: 500, pageId: 'cached' });
    source.recorder.record(METRIC.SESSIONS, 3, dash('a'));
    cached.add(await source.collect());
    cached.release();

    // The user went on to another full page load in this tab, which sends what it found…
    const next = createOutbox({ storage: tab, storageKey: KEY, maxSeries: 500, pageId: 'next' });
    expect(sumFor(next.take(100), METRIC.SESSIONS, 'a')).toBe(3);
    source.recorder.record(METRIC.SESSIONS, 5, dash('b'));
    next.add(await source.collect());
    next.release();
    // …then pressed Back: the cached page must not send 'a' again, and sends what 'next' left behind.
    cached.reclaim();
    const points = cached.take(100);
    expect(sumFor(points, METRIC.SESSIONS, 'a')).toBe(0);
    expect(sumFor(points, METRIC.SESSIONS, 'b')).toBe(5);
  });

  test('an outbox rebuilt in the same page (new settings) takes over what the page had pending', async () => {
    const source = createSource();
    const first = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500, pageId: 'page' });
    source.recorder.record(METRIC.SESSIONS, 2, dash('a'));
    first.add(await source.collect());
    const rebuilt = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500, pageId: 'page' });
    expect(sumFor(rebuilt.take(100), METRIC.SESSIONS, 'a')).toBe(2);
  });

  test('what a version before page ownership stored (a bare list of points) is taken over by the next page', async () => {
    const source = createSource();
    const older = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500, pageId: 'older' });
    source.recorder.record(METRIC.SESSIONS, 7, dash('a'));
    older.add(await source.collect());
    const stored = JSON.parse(window.sessionStorage.getItem(KEY)!) as { points: unknown[] };
    window.sessionStorage.setItem(KEY, JSON.stringify(stored.points));

    const upgraded = createOutbox({
      storage: window.sessionStorage,
      storageKey: KEY,
      maxSeries: 500,
      pageId: 'upgraded',
    });
    expect(sumFor(upgraded.take(100), METRIC.SESSIONS, 'a')).toBe(7);
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
    first.release();
    const stored = JSON.parse(window.sessionStorage.getItem(KEY)!) as { points: unknown[] };
    window.sessionStorage.setItem(KEY, JSON.stringify({ ...stored, points: [null, ...stored.points, { key: 'x' }] }));
    const outbox = createOutbox({ storage: window.sessionStorage, storageKey: KEY, maxSeries: 500, pageId: 'next' });
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
