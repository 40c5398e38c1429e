import type { Attributes, Counter } from '@opentelemetry/api';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type CollectionResult,
  type MetricProducer,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';

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
   * The SDK's cardinality limit per instrument. It must sit above the collector's own cap (cap, its
   * overflow series and one spare), so the SDK never folds series on its own: a View without a limit
   * would silently fall back to the SDK's 2000.
   */
  readonly cardinalityLimit: number;
}

/**
 * The catalog's counters, aggregated by the OpenTelemetry SDK (Counter.add, cumulative), and handed to
 * the readers (Prometheus, forward, state) as a MetricProducer.
 *
 * Increments to a series the SDK already holds are summed here and handed to it when a reader collects
 * (or series are moved): Counter.add hashes its attribute object on every call (sorted keys,
 * JSON.stringify), which was an eighth of a 20-point request's CPU, while the series key the registry
 * made finds the sum with one look-up. A series' first increment goes to the SDK at once, so its start
 * time stays that of its first point. A collection sees every increment made before it began.
 *
 * The SDK never forgets a series, and idle series must leave. So the counters live in a *generation*: a
 * MeterProvider with one pull reader. To drop series, a new generation takes the new points at once,
 * then the old one is collected and its live series added into the new one; collections wait for that
 * to finish, so nobody sees a counter go backwards.
 */
export interface CounterStore extends MetricProducer {
  /** `key` identifies the series within its family: the series registry's key for `attributes`. */
  add(family: string, value: number, attributes: Attributes, key: string): void;
  /** Moves the series for which keep() is true to a new generation and drops the others; resolves with how many were dropped. */
  retain(keep: (family: string, attributes: Attributes) => boolean): Promise<number>;
  shutdown(): Promise<void>;
}

/** A reader that only answers collect(): cumulative, as a Prometheus exposition needs. */
class PullReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A series the current generation's SDK holds, with what was added to it since the SDK last heard. */
interface Pending {
  readonly counter: Counter;
  readonly attributes: Attributes;
  value: number;
  dirty: boolean;
}

interface Generation {
  readonly provider: MeterProvider;
  readonly reader: PullReader;
  readonly counters: ReadonlyMap<string, Counter>;
  /** Family → series key → its pending sum. As bounded as the series registry: one entry per series. */
  readonly series: ReadonlyMap<string, Map<string, Pending>>;
  /** The series with a pending sum, so a flush does not walk every series. */
  readonly dirty: Pending[];
}

/** Series moved per event-loop turn while a new generation is filled, so intake is never held for long. */
const MOVE_SLICE = 2000;

export function createCounterStore(settings: CounterStoreSettings): CounterStore {
  const views: ViewOptions[] = settings.families.map((f) => ({
    meterName: CATALOG_METER,
    instrumentName: f.name,
    aggregationCardinalityLimit: settings.cardinalityLimit,
  }));

  function generation(): Generation {
    const reader = new PullReader();
    const provider = new MeterProvider({ views, readers: [reader] });
    const meter = provider.getMeter(CATALOG_METER);
    const counters = new Map(settings.families.map((f) => [f.name, meter.createCounter(f.name, { description: f.description, unit: f.unit })]));
    return { provider, reader, counters, series: new Map(settings.families.map((f) => [f.name, new Map()])), dirty: [] };
  }

  /** Hands the pending sums to the SDK; called with no await before a collection reads the SDK. */
  function flush(gen: Generation): void {
    for (const pending of gen.dirty) {
      pending.counter.add(pending.value, pending.attributes);
      pending.value = 0;
      pending.dirty = false;
    }
    gen.dirty.length = 0;
  }

  let current = generation();
  /** Settles once the last retain() has filled the current generation. */
  let settled: Promise<unknown> = Promise.resolve();

  async function move(from: Generation, to: Generation, keep: (family: string, attributes: Attributes) => boolean): Promise<number> {
    const { resourceMetrics } = await from.reader.collect();
    let dropped = 0;
    let moved = 0;
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        const counter = to.counters.get(metric.descriptor.name);
        if (counter === undefined || metric.dataPointType !== DataPointType.SUM) continue;
        for (const point of metric.dataPoints) {
          if (!keep(metric.descriptor.name, point.attributes)) {
            dropped++;
            continue;
          }
          counter.add(point.value, point.attributes);
          if (++moved % MOVE_SLICE === 0) await nextTurn();
        }
      }
    }
    await from.provider.shutdown();
    return dropped;
  }

  return {
    add(family, value, attributes, key) {
      const series = current.series.get(family)!;
      const pending = series.get(key);
      if (pending === undefined) {
        const counter = current.counters.get(family)!;
        counter.add(value, attributes);
        series.set(key, { counter, attributes, value: 0, dirty: false });
        return;
      }
      pending.value += value;
      if (!pending.dirty) {
        pending.dirty = true;
        current.dirty.push(pending);
      }
    },

    retain(keep) {
      // Chained at once, so two calls never fill one generation at the same time.
      const moving = settled.then(() => {
        const from = current;
        flush(from);
        current = generation();
        return move(from, current, keep);
      });
      settled = moving.catch(() => undefined);
      return moving;
    },

    async collect(): Promise<CollectionResult> {
      await settled;
      flush(current);
      return current.reader.collect();
    },

    async shutdown() {
      await settled;
      flush(current);
      await current.provider.shutdown();
    },
  };
}
