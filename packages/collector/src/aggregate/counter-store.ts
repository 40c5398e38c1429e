import { ValueType, type Attributes, type Counter, type HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  MetricReader,
  type CollectionResult,
  type DataPoint,
  type MetricProducer,
  type SumMetricData,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { setImmediate as nextTurn } from 'node:timers/promises';

export const CATALOG_METER = 'footfall';

export interface CounterFamily {
  /** The Prometheus family name. */
  readonly name: string;
  readonly description: string;
  readonly unit: string;
}

export interface CounterStoreSettings {
  readonly families: readonly CounterFamily[];
  /**
   * The SDK's cardinality limit per instrument. It must sit above what one collection can hold (the
   * collector's cap, its overflow series and one spare), so the SDK never folds series on its own: a
   * View without a limit would silently fall back to the SDK's 2000.
   */
  readonly cardinalityLimit: number;
}

/**
 * The catalog's counters: each series' increments are aggregated by the OpenTelemetry SDK (a Counter
 * per family, read with DELTA temporality), and the store keeps every series' running total, as the
 * OpenTelemetry Collector's deltatocumulative processor does, handing cumulative series to the readers
 * (Prometheus, forward, state) as a MetricProducer. The histogram store keeps its totals the same way.
 *
 * Why not a cumulative reader: the SDK then keeps every series for ever and rebuilds all of them on every
 * collection (a merge, a hash string and an entry array per series): 150–200 ms and most of the heap at
 * 100,000 series, in synchronous passes intake waits behind, and idle series could only be dropped by
 * moving the live ones to a new MeterProvider. A delta reader hands back only the series that changed,
 * so a collection costs what arrived since the last one, idle series leave by being forgotten here, and
 * the SDK holds nothing between collections.
 *
 * Increments are summed per series until a collection hands them to the SDK (Counter.add hashes its
 * attribute object on every call, which was an eighth of a 20-point request's CPU, while the series key
 * the registry made finds the sum with one look-up), at most SDK_BATCH series per SDK collection, an
 * event-loop turn apart. A collection sees every increment made before it began, and a series appears
 * from the first collection that saw its increments, with the time of its first increment as its start.
 */
export interface CounterStore extends MetricProducer {
  /** `key` identifies the series within its family: the series registry's key for `attributes`. */
  add(family: string, value: number, attributes: Attributes, key: string): void;
  /** Forgets the series for which keep() is false; resolves with how many were dropped. */
  retain(keep: (family: string, attributes: Attributes) => boolean): Promise<number>;
  shutdown(): Promise<void>;
}

/** A reader that only answers collect(), with what changed since the last one. */
class DeltaReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA });
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

interface Family {
  readonly descriptor: SumMetricData['descriptor'];
  readonly counter: Counter;
  /** Series key → series. As bounded as the series registry: one entry per series it admitted. */
  readonly series: Map<string, Series>;
}

interface Series {
  readonly family: Family;
  /** The object the first increment came with; the SDK hands it back on its points. */
  readonly attributes: Attributes;
  readonly startTime: HrTime;
  /**
   * Its total so far as a cumulative point, ended when the total last changed: made anew (never
   * changed) when the SDK hands back more, so collections share the points of series that did not
   * change, and a collection already handed out never sees a later total. Undefined until the SDK has
   * aggregated its first increments: only then is the series shown.
   */
  point: DataPoint<number> | undefined;
  /** Increments not handed to the SDK yet. */
  pending: number;
  /** In the dirty list. */
  dirty: boolean;
  /** Forgotten by retain(): pending increments of a forgotten series go nowhere. */
  dropped: boolean;
}

/** Series handed to the SDK per collection of it: a few ms of synchronous work. */
export const SDK_BATCH = 4000;
/** Series visited per event-loop turn while points are built or series are forgotten. */
const SLICE = 5000;

export function createCounterStore(settings: CounterStoreSettings): CounterStore {
  const views: ViewOptions[] = settings.families.map((f) => ({
    meterName: CATALOG_METER,
    instrumentName: f.name,
    aggregationCardinalityLimit: settings.cardinalityLimit,
  }));
  const reader = new DeltaReader();
  const provider = new MeterProvider({ views, readers: [reader] });
  const meter = provider.getMeter(CATALOG_METER);
  const families = new Map<string, Family>(
    settings.families.map((f) => [
      f.name,
      {
        descriptor: { name: f.name, description: f.description, unit: f.unit, valueType: ValueType.DOUBLE },
        counter: meter.createCounter(f.name, { description: f.description, unit: f.unit }),
        series: new Map(),
      },
    ])
  );
  /** The series with increments the SDK has not had yet, so a collection does not walk every series. */
  let dirty: Series[] = [];
  /** SDK collections and retain() passes, one at a time and in order. */
  let queue: Promise<unknown> = Promise.resolve();
  function inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = queue.then(work);
    queue = run.catch(() => undefined);
    return run;
  }

  /** Hands the batch's pending sums to the SDK, SDK_BATCH series at a time, and adds what it aggregated to the totals. */
  async function absorb(batch: readonly Series[]): Promise<void> {
    for (let from = 0; from < batch.length; from += SDK_BATCH) {
      if (from > 0) {
        await nextTurn();
      }
      const handed = new Map<string, Map<Attributes, Series>>();
      for (let i = from; i < Math.min(from + SDK_BATCH, batch.length); i++) {
        const series = batch[i]!;
        series.dirty = false;
        if (series.dropped) {
          continue;
        }
        series.family.counter.add(series.pending, series.attributes);
        series.pending = 0;
        const name = series.family.descriptor.name;
        let byAttributes = handed.get(name);
        if (byAttributes === undefined) {
          handed.set(name, (byAttributes = new Map()));
        }
        byAttributes.set(series.attributes, series);
      }
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) {
        throw new AggregateError(errors, 'the SDK could not collect the counters');
      }
      const endTime = hrTime();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          if (metric.dataPointType !== DataPointType.SUM) {
            continue;
          }
          const byAttributes = handed.get(metric.descriptor.name);
          for (const point of metric.dataPoints) {
            const series = byAttributes?.get(point.attributes);
            // Each point carries the attributes object it was added with; anything else is a broken invariant, not a count to drop quietly.
            if (series === undefined) {
              throw new Error(`the SDK returned a ${metric.descriptor.name} point for a series it was not given`);
            }
            series.point = {
              attributes: series.attributes,
              startTime: series.startTime,
              endTime,
              value: (series.point?.value ?? 0) + point.value,
            };
          }
        }
      }
    }
  }

  /**
   * Every shown series' point, a slice per turn; no absorb runs meanwhile. A point's end is when its
   * total last changed: the Prometheus text carries no times, and the forward stage stamps its own.
   */
  async function points(): Promise<SumMetricData[]> {
    const metrics: SumMetricData[] = [];
    let visited = 0;
    for (const family of families.values()) {
      const dataPoints: Array<DataPoint<number>> = [];
      for (const series of family.series.values()) {
        if (series.point !== undefined) {
          dataPoints.push(series.point);
        }
        if (++visited % SLICE === 0) {
          await nextTurn();
        }
      }
      if (dataPoints.length === 0) {
        continue;
      }
      metrics.push({
        descriptor: family.descriptor,
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.SUM,
        isMonotonic: true,
        dataPoints,
      });
    }
    return metrics;
  }

  async function absorbDirty(): Promise<void> {
    const batch = dirty;
    dirty = [];
    await absorb(batch);
  }

  return {
    add(family, value, attributes, key) {
      const target = families.get(family)!;
      let series = target.series.get(key);
      if (series === undefined) {
        series = {
          family: target,
          attributes,
          startTime: hrTime(),
          point: undefined,
          pending: 0,
          dirty: false,
          dropped: false,
        };
        target.series.set(key, series);
      }
      series.pending += value;
      if (!series.dirty) {
        series.dirty = true;
        dirty.push(series);
      }
    },

    retain(keep) {
      return inTurn(async () => {
        let dropped = 0;
        let visited = 0;
        for (const family of families.values()) {
          // Series added while this runs are visited too; keep() knows them, as they were just updated.
          for (const [key, series] of family.series) {
            if (!keep(family.descriptor.name, series.attributes)) {
              family.series.delete(key);
              series.dropped = true;
              dropped++;
            }
            if (++visited % SLICE === 0) {
              await nextTurn();
            }
          }
        }
        // Not kept until a collection comes (with no scraper, no state file and no forwarding, none does).
        if (dropped > 0) {
          dirty = dirty.filter((series) => !series.dropped);
        }
        return dropped;
      });
    },

    collect(): Promise<CollectionResult> {
      return inTurn(async () => {
        await absorbDirty();
        const metrics = await points();
        return {
          // Readers put producer metrics under their own resource; this one is ignored.
          resourceMetrics: {
            resource: emptyResource(),
            scopeMetrics: metrics.length === 0 ? [] : [{ scope: { name: CATALOG_METER }, metrics }],
          },
          errors: [],
        };
      });
    },

    shutdown() {
      return inTurn(async () => {
        await absorbDirty();
        await provider.shutdown();
      });
    },
  };
}
