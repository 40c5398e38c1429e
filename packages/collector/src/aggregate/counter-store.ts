import type { Attributes, Counter } from '@opentelemetry/api';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type CollectionResult,
  type MetricData,
  type MetricProducer,
  type ScopeMetrics,
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
 * The SDK never forgets a series, and idle series must leave. So the counters live in a *generation*: a
 * MeterProvider with one pull reader. To drop series, a new generation takes the new points at once,
 * then the old one is collected and its live series added into the new one; collections wait for that
 * to finish, so nobody sees a counter go backwards.
 *
 * A generation is split in SHARDS MeterProviders, each series always in the same one (by its attribute
 * values), and collect() collects them one event-loop turn apart: the SDK builds a collection in one
 * synchronous pass, which took 55–190 ms for 100,000 series of one counter, and intake must not wait
 * that long. The shards' points are joined again, one metric per counter.
 *
 * Increments to a series the SDK already holds are summed here and handed to it when a reader collects
 * (or series are moved): Counter.add hashes its attribute object on every call (sorted keys,
 * JSON.stringify), which was an eighth of a 20-point request's CPU, while the series key the registry
 * made finds the sum with one look-up. A series' first increment goes to the SDK at once, so its start
 * time stays that of its first point. A collection sees every increment made before it began.
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

interface Shard {
  readonly provider: MeterProvider;
  readonly reader: PullReader;
  readonly counters: ReadonlyMap<string, Counter>;
}

/** A series the generation's SDK holds, with what was added to it since the SDK last heard. */
interface Pending {
  readonly counter: Counter;
  readonly attributes: Attributes;
  value: number;
  dirty: boolean;
}

interface Generation {
  readonly shards: readonly Shard[];
  /** Family → series key → its pending sum. As bounded as the series registry: one entry per series. */
  readonly series: ReadonlyMap<string, Map<string, Pending>>;
  /** The series with a pending sum, so a flush does not walk every series. */
  readonly dirty: Pending[];
}

/** Series moved per event-loop turn while a new generation is filled, so intake is never held for long. */
const MOVE_SLICE = 2000;

/** MeterProviders per generation: at 100,000 series one shard's collection takes a few ms. */
export const SHARDS = 16;

/**
 * The shard of a series, from its attribute values (FNV-1a, summed so the attributes' order does not
 * matter): the same on every add() and every move, so a series is never split over two shards.
 */
export function shardOf(attributes: Attributes): number {
  let sum = 0;
  for (const name in attributes) {
    const value = attributes[name];
    const text = typeof value === 'string' ? value : String(value);
    let hash = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
    sum = (sum + hash) | 0;
  }
  return (sum >>> 0) % SHARDS;
}

/**
 * One collection of the shards, one event-loop turn apart, joined into one metric per counter, in the
 * order of `names` (whichever shard holds a counter's first series, the families keep their order).
 */
async function collectShards(generation: readonly Shard[], names: readonly string[]): Promise<CollectionResult> {
  const byName = new Map<string, MetricData>();
  let scope: ScopeMetrics['scope'] = { name: CATALOG_METER };
  let resource: CollectionResult['resourceMetrics']['resource'] | undefined;
  const errors: unknown[] = [];
  for (const shard of generation) {
    const result = await shard.reader.collect();
    errors.push(...result.errors);
    resource ??= result.resourceMetrics.resource;
    for (const scopeMetrics of result.resourceMetrics.scopeMetrics) {
      scope = scopeMetrics.scope;
      for (const metric of scopeMetrics.metrics) {
        const joined = byName.get(metric.descriptor.name);
        if (joined === undefined) byName.set(metric.descriptor.name, metric);
        else {
          // Same descriptor and point type in every shard: only the points differ.
          const points = joined.dataPoints as unknown[];
          for (const point of metric.dataPoints) points.push(point);
        }
      }
    }
    await nextTurn();
  }
  const metrics = names.flatMap((name) => byName.get(name) ?? []);
  return {
    resourceMetrics: { resource: resource!, scopeMetrics: metrics.length === 0 ? [] : [{ scope, metrics }] },
    errors,
  };
}

export function createCounterStore(settings: CounterStoreSettings): CounterStore {
  const views: ViewOptions[] = settings.families.map((f) => ({
    meterName: CATALOG_METER,
    instrumentName: f.name,
    aggregationCardinalityLimit: settings.cardinalityLimit,
  }));

  function shard(): Shard {
    const reader = new PullReader();
    const provider = new MeterProvider({ views, readers: [reader] });
    const meter = provider.getMeter(CATALOG_METER);
    const counters = new Map(settings.families.map((f) => [f.name, meter.createCounter(f.name, { description: f.description, unit: f.unit })]));
    return { provider, reader, counters };
  }

  function generation(): Generation {
    return { shards: Array.from({ length: SHARDS }, shard), series: new Map(settings.families.map((f) => [f.name, new Map()])), dirty: [] };
  }

  /** Hands the pending sums to the SDK; called with no await before a collection starts reading it. */
  function flush(gen: Generation): void {
    for (const pending of gen.dirty) {
      pending.counter.add(pending.value, pending.attributes);
      pending.value = 0;
      pending.dirty = false;
    }
    gen.dirty.length = 0;
  }

  const names = settings.families.map((f) => f.name);
  let current = generation();
  /** Collections under way: a generation is shut down only once none still reads it. */
  const reading = new Set<Promise<unknown>>();

  function collect(from: Generation): Promise<CollectionResult> {
    flush(from);
    const collection = collectShards(from.shards, names);
    const done = collection.catch(() => undefined).finally(() => reading.delete(done));
    reading.add(done);
    return collection;
  }
  /** Settles once the last retain() has filled the current generation. */
  let settled: Promise<unknown> = Promise.resolve();

  async function move(from: Generation, to: Generation, keep: (family: string, attributes: Attributes) => boolean): Promise<number> {
    const { resourceMetrics } = await collect(from);
    let dropped = 0;
    let moved = 0;
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        if (metric.dataPointType !== DataPointType.SUM || !to.shards[0]!.counters.has(metric.descriptor.name)) continue;
        for (const point of metric.dataPoints) {
          if (!keep(metric.descriptor.name, point.attributes)) {
            dropped++;
            continue;
          }
          to.shards[shardOf(point.attributes)]!.counters.get(metric.descriptor.name)!.add(point.value, point.attributes);
          if (++moved % MOVE_SLICE === 0) await nextTurn();
        }
      }
    }
    await Promise.all(reading);
    await Promise.all(from.shards.map((s) => s.provider.shutdown()));
    return dropped;
  }

  return {
    add(family, value, attributes, key) {
      const series = current.series.get(family)!;
      const pending = series.get(key);
      if (pending === undefined) {
        const counter = current.shards[shardOf(attributes)]!.counters.get(family)!;
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
      return collect(current);
    },

    async shutdown() {
      await settled;
      flush(current);
      await Promise.all(current.shards.map((s) => s.provider.shutdown()));
    },
  };
}
