/**
 * The outbox holds DELTA points that have been collected but not yet delivered. Points of the same
 * series are merged (sums add, histogram buckets add), so a failed export is not retried as it was
 * but folded into the next one: however long the collector is down, the tab keeps at most one point
 * per series. It is kept in sessionStorage, so what is pending survives a reload of the tab.
 *
 * Chrome's "Duplicate tab" copies sessionStorage into the new tab while the first one lives on, so
 * the stored outbox names the page that owns it and says whether that page let go of it (at
 * pagehide). A new page takes over only what was let go of: after a reload it is sent, in a
 * duplicate it is left to the page still sending it. A page that dies without pagehide (a crash) leaves
 * its points unsent; counting them twice would be the worse error.
 *
 * The SDK has no public way to merge exported data or to persist it, hence this small module.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import { hrTimeToMilliseconds, millisToHrTime } from '@opentelemetry/core';
import {
  AggregationTemporality,
  DataPointType,
  type Histogram,
  type MetricData,
  type MetricDescriptor,
  type ResourceMetrics,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';

type PointValue =
  | { readonly type: 'sum'; readonly value: number }
  | {
      readonly type: 'histogram';
      readonly boundaries: readonly number[];
      readonly counts: readonly number[];
      readonly sum: number;
      readonly count: number;
      readonly min?: number;
      readonly max?: number;
    };

/** One pending series: its metric, attributes and merged value over [start, end] (epoch ms). */
export interface PendingPoint {
  readonly key: string;
  readonly descriptor: MetricDescriptor;
  readonly monotonic: boolean;
  readonly attributes: Attributes;
  readonly start: number;
  readonly end: number;
  readonly value: PointValue;
}

export interface OutboxSettings {
  /** Where pending points are kept across reloads; `undefined` keeps them in memory only. */
  readonly storage: Storage | undefined;
  readonly storageKey: string;
  /** Series kept at most; points of further series are counted in `dropped` and not kept. */
  readonly maxSeries: number;
  /** This page load; outboxes made in the same page share it. Defaults to one made when the module loads. */
  readonly pageId?: string;
}

export interface Outbox {
  /** Merges the points of an export into what is pending. */
  add(metrics: ResourceMetrics): void;
  /** Removes up to `max` pending points and returns them for sending; empty when nothing is pending. */
  take(max: number): PendingPoint[];
  /** Puts points whose delivery failed back, merged with anything recorded since. */
  restore(points: readonly PendingPoint[]): void;
  /**
   * The page goes away (pagehide): what is stored may be taken over by the next page of the tab.
   * Stays so through later changes (a keepalive export failing during the unload puts points back).
   */
  release(): void;
  /**
   * The page is back from the back/forward cache and owns its outbox again. If a page loaded in the
   * tab meanwhile took over what was stored, that page has sent it: it is dropped here.
   */
  reclaim(): void;
  /** Number of pending series. */
  readonly size: number;
  /** Points refused because the outbox was full, since the page loaded. */
  readonly dropped: number;
  /** Pending points as OTLP-ready metric data, grouped by metric, under one resource and scope. */
  toResourceMetrics(
    points: readonly PendingPoint[],
    template: Pick<ResourceMetrics, 'resource'> & Pick<ScopeMetrics, 'scope'>
  ): ResourceMetrics;
}

function seriesKey(name: string, attributes: Attributes): string {
  const pairs = Object.keys(attributes)
    .sort()
    .map((k) => [k, attributes[k]]);
  return JSON.stringify([name, pairs]);
}

function mergeValues(a: PointValue, b: PointValue): PointValue {
  if (a.type === 'sum' && b.type === 'sum') {
    return { type: 'sum', value: a.value + b.value };
  }
  if (a.type === 'histogram' && b.type === 'histogram' && sameBoundaries(a.boundaries, b.boundaries)) {
    return {
      type: 'histogram',
      boundaries: a.boundaries,
      counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)),
      sum: a.sum + b.sum,
      count: a.count + b.count,
      ...optional('min', minOf(a.min, b.min)),
      ...optional('max', maxOf(a.max, b.max)),
    };
  }
  // Same series, different shape: only possible if the catalog changed between a reload; keep the newer.
  return b;
}

function sameBoundaries(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function minOf(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

function maxOf(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

function optional<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}

function merge(a: PendingPoint, b: PendingPoint): PendingPoint {
  return {
    ...b,
    start: Math.min(a.start, b.start),
    end: Math.max(a.end, b.end),
    value: mergeValues(a.value, b.value),
  };
}

function pointsOf(metric: MetricData): PendingPoint[] {
  if (metric.aggregationTemporality !== AggregationTemporality.DELTA) {
    return [];
  }
  const base = { descriptor: { ...metric.descriptor } };
  if (metric.dataPointType === DataPointType.SUM) {
    return metric.dataPoints.map((p) => ({
      ...base,
      key: seriesKey(metric.descriptor.name, p.attributes),
      monotonic: metric.isMonotonic,
      attributes: p.attributes,
      start: hrTimeToMilliseconds(p.startTime),
      end: hrTimeToMilliseconds(p.endTime),
      value: { type: 'sum', value: p.value },
    }));
  }
  if (metric.dataPointType === DataPointType.HISTOGRAM) {
    return metric.dataPoints.map((p) => {
      const h: Histogram = p.value;
      return {
        ...base,
        key: seriesKey(metric.descriptor.name, p.attributes),
        monotonic: true,
        attributes: p.attributes,
        start: hrTimeToMilliseconds(p.startTime),
        end: hrTimeToMilliseconds(p.endTime),
        value: {
          type: 'histogram',
          boundaries: [...h.buckets.boundaries],
          counts: [...h.buckets.counts],
          sum: h.sum ?? 0,
          count: h.count,
          ...optional('min', h.min),
          ...optional('max', h.max),
        },
      };
    });
  }
  // The panel records counters and histograms only.
  return [];
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x >= 0;
const isOptionalNumber = (x: unknown): boolean => x === undefined || (typeof x === 'number' && Number.isFinite(x));

function isPointValue(v: unknown): boolean {
  if (!isObject(v)) {
    return false;
  }
  if (v.type === 'sum') {
    return isCount(v.value);
  }
  if (v.type !== 'histogram') {
    return false;
  }
  const { boundaries, counts } = v;
  return (
    Array.isArray(boundaries) &&
    boundaries.every((b) => typeof b === 'number' && Number.isFinite(b)) &&
    Array.isArray(counts) &&
    counts.length === boundaries.length + 1 &&
    counts.every(isCount) &&
    isCount(v.count) &&
    isOptionalNumber(v.sum) &&
    isOptionalNumber(v.min) &&
    isOptionalNumber(v.max)
  );
}

/**
 * A stored point is checked in full before it is trusted: storage may hold what an older version of
 * the panel wrote, and one malformed point must not block the delivery of the others.
 */
function isPendingPoint(x: unknown): x is PendingPoint {
  if (!isObject(x) || !isObject(x.descriptor) || !isObject(x.attributes)) {
    return false;
  }
  const d = x.descriptor;
  return (
    typeof x.key === 'string' &&
    typeof d.name === 'string' &&
    typeof d.unit === 'string' &&
    typeof d.valueType === 'number' &&
    typeof x.monotonic === 'boolean' &&
    isCount(x.start) &&
    isCount(x.end) &&
    Object.values(x.attributes).every((a) => ['string', 'number', 'boolean'].includes(typeof a)) &&
    isPointValue(x.value)
  );
}

/**
 * An outbox as stored: the page that owns it, whether that page released it, and its points. A bare
 * list of points is what versions before ownership wrote; it is read as released, as a page of this
 * version finds one almost only in a reload after the upgrade (a duplicate of a tab still running the
 * old version would count its points twice, once; dropping every upgrading tab's points would be worse).
 */
type Stored =
  | {
      readonly kind: 'outbox';
      readonly page: string | undefined;
      readonly released: boolean;
      readonly points: readonly unknown[];
    }
  | { readonly kind: 'none' }
  /** The storage threw: nothing is known about what it holds. */
  | { readonly kind: 'unreadable' };

function parseStored(text: string | null | undefined): Stored {
  if (!text) {
    return { kind: 'none' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'none' };
  }
  if (Array.isArray(parsed)) {
    return { kind: 'outbox', page: undefined, released: true, points: parsed };
  }
  if (
    !isObject(parsed) ||
    typeof parsed.page !== 'string' ||
    typeof parsed.released !== 'boolean' ||
    !Array.isArray(parsed.points)
  ) {
    return { kind: 'none' };
  }
  return { kind: 'outbox', page: parsed.page, released: parsed.released, points: parsed.points };
}

let pageOfThisLoad: string | undefined;

/** Made once per page load (and per copy of this code), so outboxes rebuilt in the same page share it. */
function thisPage(): string {
  if (pageOfThisLoad === undefined) {
    const bytes = new Uint8Array(8);
    globalThis.crypto.getRandomValues(bytes);
    pageOfThisLoad = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }
  return pageOfThisLoad;
}

export function createOutbox(settings: OutboxSettings): Outbox {
  const { storage, storageKey } = settings;
  const page = settings.pageId ?? thisPage();
  const pending = new Map<string, PendingPoint>();
  let dropped = 0;
  /** Set at pagehide until the page is shown again. */
  let released = false;
  /** Whether storage has said "released" since then, so another page may have taken the points. */
  let releaseSeen = false;

  function read(): Stored {
    let text: string | null | undefined;
    try {
      text = storage?.getItem(storageKey);
    } catch {
      return { kind: 'unreadable' };
    }
    return parseStored(text);
  }

  /** Takes over what is stored when its page released it, or when it is this page's own (a rebuilt meter). */
  function adopt(stored: Stored): void {
    if (stored.kind !== 'outbox' || !(stored.released || stored.page === page)) {
      return;
    }
    // One malformed point must not block the delivery of the others.
    for (const p of stored.points) {
      if (isPendingPoint(p) && pending.size < settings.maxSeries) {
        pending.set(p.key, p);
      }
    }
    // Claimed at once: a duplicate of this tab made from now on leaves these points to this page.
    save();
  }

  function save(): void {
    if (!storage) {
      return;
    }
    try {
      if (pending.size === 0) {
        storage.removeItem(storageKey);
      } else {
        storage.setItem(storageKey, JSON.stringify({ page, released, points: [...pending.values()] }));
      }
      if (released) {
        releaseSeen = true;
      }
    } catch {
      // Quota exceeded or storage disabled: the points stay in memory and are sent from there.
    }
  }

  function put(point: PendingPoint): void {
    const existing = pending.get(point.key);
    if (existing) {
      pending.set(point.key, merge(existing, point));
    } else if (pending.size < settings.maxSeries) {
      pending.set(point.key, point);
    } else {
      dropped += 1;
    }
  }

  adopt(read());

  return {
    add(metrics) {
      for (const scope of metrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          for (const p of pointsOf(metric)) {
            put(p);
          }
        }
      }
      save();
    },
    take(max) {
      const out: PendingPoint[] = [];
      for (const [key, point] of pending) {
        if (out.length >= max) {
          break;
        }
        out.push(point);
        pending.delete(key);
      }
      if (out.length > 0) {
        save();
      }
      return out;
    },
    restore(points) {
      // Older points first, so merge() keeps the newest descriptor.
      for (const p of points) {
        const newer = pending.get(p.key);
        pending.delete(p.key);
        put(p);
        if (newer) {
          put(newer);
        }
      }
      save();
    },
    release() {
      released = true;
      releaseSeen = false;
      save();
    },
    reclaim() {
      if (!released) {
        return;
      }
      released = false;
      const stored = releaseSeen ? read() : undefined;
      releaseSeen = false;
      if (stored && stored.kind !== 'unreadable' && !(stored.kind === 'outbox' && stored.page === page)) {
        // A page loaded in this tab while this one was in the back/forward cache took the points over
        // and sent them; what it left behind, released, is this page's to send now.
        pending.clear();
        adopt(stored);
      }
      save();
    },
    get size() {
      return pending.size;
    },
    get dropped() {
      return dropped;
    },
    toResourceMetrics(points, template) {
      const byMetric = new Map<string, PendingPoint[]>();
      for (const p of points) {
        const list = byMetric.get(p.descriptor.name);
        if (list) {
          list.push(p);
        } else {
          byMetric.set(p.descriptor.name, [p]);
        }
      }
      const metrics: MetricData[] = [];
      for (const list of byMetric.values()) {
        const first = list[0]!;
        const times = (p: PendingPoint): { startTime: HrTime; endTime: HrTime } => ({
          startTime: millisToHrTime(p.start),
          endTime: millisToHrTime(p.end),
        });
        if (first.value.type === 'sum') {
          metrics.push({
            descriptor: first.descriptor,
            aggregationTemporality: AggregationTemporality.DELTA,
            dataPointType: DataPointType.SUM,
            isMonotonic: first.monotonic,
            dataPoints: list.flatMap((p) =>
              p.value.type === 'sum' ? [{ ...times(p), attributes: p.attributes, value: p.value.value }] : []
            ),
          });
        } else {
          metrics.push({
            descriptor: first.descriptor,
            aggregationTemporality: AggregationTemporality.DELTA,
            dataPointType: DataPointType.HISTOGRAM,
            dataPoints: list.flatMap((p) =>
              p.value.type === 'histogram'
                ? [
                    {
                      ...times(p),
                      attributes: p.attributes,
                      value: {
                        buckets: { boundaries: [...p.value.boundaries], counts: [...p.value.counts] },
                        sum: p.value.sum,
                        count: p.value.count,
                        ...optional('min', p.value.min),
                        ...optional('max', p.value.max),
                      },
                    },
                  ]
                : []
            ),
          });
        }
      }
      return { resource: template.resource, scopeMetrics: [{ scope: template.scope, metrics }] };
    },
  };
}
