import type { Attributes } from '@opentelemetry/api';
import type { HistogramPoint, Metric, NumberPoint } from '../decode/index.js';
import {
  labelName,
  OVERFLOW_ATTRIBUTES,
  OVERFLOW_KEY_NAME,
  type AdmittedSeries,
  type Labels,
  type SeriesRegistry,
  seriesRequest,
  type SeriesRequest,
} from '../limits/index.js';
import { MAX_POINT_WINDOW_SECONDS, type CatalogMetric, type DerivedSeries } from './catalog.js';
import type { CounterFamily, CounterStore } from './counter-store.js';
import type { HistogramStore } from './histogram-store.js';
import { refusal, type Refusal } from './refusal.js';
import type { CounterState, HistogramState } from './state.js';

/** Who sent a point, as far as the aggregate stage cares. */
export interface PointSender {
  /** The authorize stage's subject: its budget pays for new series. Undefined: no per-sender budget. */
  readonly subject: string | undefined;
  /** Multiplies every increment bound: 1 for a browser, more for a sender that aggregates many browsers. */
  readonly incrementFactor: number;
}

/** Where the points of one accepted metric go. */
export interface Route {
  readonly metric: CatalogMetric;
  /** Label names the route reads from a point: its metric's own and its derived series'. */
  readonly labelNames: ReadonlySet<string>;
  /** Why the point is refused, if it is; called before any series is made for it. */
  check(point: NumberPoint | HistogramPoint, sender: PointSender): Refusal | undefined;
  /**
   * Records a point that passed check(), under its labels (canonical names, values as sent). A refusal
   * when the sender's budget for new series cannot pay for the series it needs.
   */
  record(
    point: NumberPoint | HistogramPoint,
    labels: Labels,
    sender: PointSender
  ): { readonly overflow: boolean } | Refusal;
}

/**
 * The aggregate stage: maps each received metric to its catalog entry and records its points into the
 * metric's own series and the series derived from it (the old server's, the instance-wide preferences).
 * Delta monotonic sums go to SDK counters, delta histograms to the histogram store. Cumulative input is
 * refused: turning it into deltas needs per-sender state, which would break exact sums across collector
 * replicas. Unknown names, other units and implausible increments are refused too.
 */
export interface Aggregator {
  route(metric: Metric): Route | Refusal;
  /**
   * Adds a state file's cumulative values, before the first request, so Prometheus sees each counter
   * continue where the last process left it. Each series is mapped onto its family's labels today (a
   * label the configuration no longer keeps is summed away) and goes through the cap like a new one.
   * Entries that no longer fit the catalog are skipped and counted.
   */
  restore(state: {
    readonly counters: readonly CounterState[];
    readonly histograms: readonly HistogramState[];
    readonly savedAt: number;
  }): {
    restored: number;
    skipped: number;
  };
}

export interface AggregatorSettings {
  readonly catalog: readonly CatalogMetric[];
  readonly counters: CounterStore;
  readonly histograms: HistogramStore;
  readonly registry: SeriesRegistry;
  /** The attributes the legacy series keep (`legacy.labels`). */
  readonly legacyLabels: readonly string[];
  /** Milliseconds since the epoch. */
  readonly now: () => number;
}

/** One family a metric's points feed: its label names, and for a derived one the points it takes. */
interface Feed {
  readonly family: string;
  readonly names: readonly string[];
  readonly when?: { readonly name: string; readonly values: ReadonlySet<string> };
}

const EXPECTED = {
  counter: { type: 'sum', words: 'a monotonic sum' },
  histogram: { type: 'histogram', words: 'a histogram' },
} as const;

/** The catalog's families and how points feed them; throws on a catalog that could not work. */
export function catalogFeeds(
  catalog: readonly CatalogMetric[],
  legacyLabels: readonly string[]
): Map<CatalogMetric, Feed[]> {
  const legacy = new Set(legacyLabels);
  // Sorted: a point's labels and series key are then made in one pass (seriesRequest).
  const names = (attributes: readonly string[]): string[] => [...new Set(attributes.map((a) => labelName(a)!))].sort();
  const families = new Set<string>();
  const feeds = new Map<CatalogMetric, Feed[]>();
  for (const metric of catalog) {
    const own = [...metric.attributes, ...(metric.legacyAttributes ?? []).filter((a) => legacy.has(a))];
    if (metric.kind === 'histogram' && !(metric.maxObservation! > 0)) {
      throw new Error(`${metric.name}: a histogram needs maxObservation`);
    }
    const list: Feed[] = [{ family: metric.prometheus, names: names(own) }];
    for (const derived of metric.derived ?? []) {
      if (metric.kind !== 'counter') {
        throw new Error(`${metric.name}: only counters can have derived series`);
      }
      list.push(derivedFeed(derived, legacy, names));
    }
    for (const feed of list) {
      if (families.has(feed.family)) {
        throw new Error(`catalog: ${feed.family} is fed twice`);
      }
      families.add(feed.family);
    }
    feeds.set(metric, list);
  }
  return feeds;
}

/** The counter families a catalog feeds (its counters' own and derived series), for the counter store. */
export function counterFamilies(catalog: readonly CatalogMetric[], legacyLabels: readonly string[]): CounterFamily[] {
  const families: CounterFamily[] = [];
  for (const [metric, feeds] of catalogFeeds(catalog, legacyLabels)) {
    if (metric.kind !== 'counter') {
      continue;
    }
    families.push({ name: metric.prometheus, description: metric.description, unit: metric.unit });
    for (const [i, d] of (metric.derived ?? []).entries()) {
      families.push({ name: feeds[i + 1]!.family, description: d.description, unit: metric.unit });
    }
  }
  return families;
}

function derivedFeed(
  derived: DerivedSeries,
  legacy: ReadonlySet<string>,
  names: (a: readonly string[]) => string[]
): Feed {
  const attributes = derived.legacy ? derived.attributes.filter((a) => legacy.has(a)) : derived.attributes;
  const when = derived.when && { name: labelName(derived.when.attribute)!, values: new Set(derived.when.values) };
  return { family: derived.prometheus, names: names(attributes), ...(when ? { when } : {}) };
}

export function createAggregator(settings: AggregatorSettings): Aggregator {
  const { counters, histograms, registry, now } = settings;
  const feeds = catalogFeeds(settings.catalog, settings.legacyLabels);
  const routes = new Map<string, Route>();
  /** Family name → what restore() needs to put a saved series back. */
  const restorable = new Map<string, { metric: CatalogMetric; names: readonly string[]; counter: boolean }>();

  for (const [metric, list] of feeds) {
    const [own, ...derived] = list as [Feed, ...Feed[]];
    const labelNames = new Set([
      ...list.flatMap((f) => f.names),
      ...derived.flatMap((f) => (f.when ? [f.when.name] : [])),
    ]);
    const implausible = refusal(
      'implausible_value',
      `${metric.name}: increment beyond what one sender can record in the point's time window (docs/metrics.md)`
    );
    const noBudget = refusal('series_budget', `${metric.name}: this sender has made too many new series this hour`);
    const isCounter = metric.kind === 'counter';
    for (const feed of list) {
      restorable.set(feed.family, { metric, names: feed.names, counter: isCounter || feed !== own });
    }
    const negative = refusal('invalid_value', `${metric.name}: counter increments must be finite and non-negative`);
    const noValue = refusal('no_value', `${metric.name}: a data point must have asDouble or asInt`);

    routes.set(metric.name, {
      metric,
      labelNames,
      check(point, sender) {
        if (!isCounter) {
          const refused = histograms.check(metric, point as HistogramPoint);
          if (refused) {
            return refused;
          }
          const { count, sum } = point as HistogramPoint;
          return count <= bound(metric, point, sender) && sum! <= count * metric.maxObservation!
            ? undefined
            : implausible;
        }
        const value = (point as NumberPoint).value;
        if (value === undefined) {
          return noValue;
        }
        if (!(Number.isFinite(value) && value >= 0)) {
          return negative;
        }
        return value <= bound(metric, point, sender) ? undefined : implausible;
      },
      record(point, labels, sender) {
        const requests: SeriesRequest[] = [seriesRequest(own.family, labels, own.names)];
        for (const feed of derived) {
          if (feed.when === undefined || feed.when.values.has(labels[feed.when.name] ?? '')) {
            requests.push(seriesRequest(feed.family, labels, feed.names));
          }
        }
        const admitted = registry.admit(requests, sender.subject, now());
        if (admitted === undefined) {
          return noBudget;
        }
        if (isCounter) {
          const value = (point as NumberPoint).value!;
          for (let i = 0; i < requests.length; i++) {
            counters.add(requests[i]!.family, value, admitted[i]!.attributes, admitted[i]!.key);
          }
        } else {
          histograms.merge(metric, admitted[0]!, point as HistogramPoint);
        }
        return { overflow: admitted[0]!.overflow };
      },
    });
  }
  // A collector forwarding to this one (forward.temporality: delta) sends the Prometheus names it
  // aggregated under; they mean the same metric. (Derived series are not forwarded: they are derived here.)
  for (const metric of feeds.keys()) {
    routes.set(metric.prometheus, routes.get(metric.name)!);
  }

  return {
    route(metric) {
      const route = routes.get(metric.name);
      if (!route) {
        return refusal('unknown_metric', `metric ${JSON.stringify(metric.name)} is not in the catalog`);
      }
      return checkShape(metric, route);
    },

    restore(state) {
      let restored = 0;
      let skipped = 0;
      const put = (names: readonly string[], saved: CounterState | HistogramState): AdmittedSeries => {
        // Version 1 files wrote the overflow label as Prometheus prints it.
        const overflow = Object.hasOwn(saved.labels, OVERFLOW_KEY_NAME) || saved.labels.otel_metric_overflow === 'true';
        const attributes: Attributes = overflow
          ? OVERFLOW_ATTRIBUTES
          : seriesRequest(saved.name, saved.labels, names).labels;
        return registry.restore(saved.name, attributes, saved.updatedAt ?? state.savedAt);
      };
      for (const saved of state.counters) {
        const target = restorable.get(saved.name);
        if (!target?.counter) {
          skipped++;
          continue;
        }
        const series = put(target.names, saved);
        counters.add(saved.name, saved.value, series.attributes, series.key);
        restored++;
      }
      for (const saved of state.histograms) {
        const target = restorable.get(saved.name);
        if (!target || target.counter || !histograms.fits(target.metric, saved.boundaries)) {
          skipped++;
          continue;
        }
        histograms.restore(target.metric, put(target.names, saved), saved);
        restored++;
      }
      return { restored, skipped };
    },
  };

  function checkShape(metric: Metric, route: Route): Route | Refusal {
    const expected = route.metric;
    const { type, words } = EXPECTED[expected.kind];
    if (
      (metric.type !== 'sum' && metric.type !== 'histogram') ||
      metric.type !== type ||
      (metric.type === 'sum' && !metric.monotonic)
    ) {
      return refusal('type_mismatch', `${metric.name} must be ${words}`);
    }
    if (metric.temporality !== 'delta') {
      return refusal(
        'not_delta',
        `${metric.name} has ${metric.temporality} temporality; only DELTA is accepted (set temporalityPreference: DELTA)`
      );
    }
    // An empty unit is a sender that did not say; any other must be the catalog's.
    if (metric.unit !== '' && metric.unit !== expected.unit) {
      return refusal(
        'unit_mismatch',
        `${metric.name} is measured in ${JSON.stringify(expected.unit)}, not ${JSON.stringify(metric.unit)}`
      );
    }
    return route;
  }
}

/** The most one point may add to one series (docs/metrics.md): the catalog's bound over the point's own window. */
function bound(metric: CatalogMetric, point: NumberPoint | HistogramPoint, sender: PointSender): number {
  const window =
    point.startTime > 0 && point.time > point.startTime
      ? Math.min(point.time - point.startTime, MAX_POINT_WINDOW_SECONDS)
      : 0;
  return (metric.increment.perPoint + metric.increment.perSecond * window) * sender.incrementFactor;
}
