import type { Attributes } from '@opentelemetry/api';
import type { Labels } from './attribute-limiter.js';
import type { SenderBudget } from './sender-budget.js';

/**
 * The attributes of a family's overflow series: the OpenTelemetry SDK's own
 * (`otel.metric.overflow: true`, `otel_metric_overflow="true"` in Prometheus), so that footfall's cap and
 * the SDK's cardinality limit, should it ever fold too, fill one series, never two that print alike.
 */
export const OVERFLOW_ATTRIBUTES: Readonly<Attributes> = Object.freeze({ 'otel.metric.overflow': true });
/** The attribute key of the overflow series; client attributes can never produce it (label names have no dots). */
export const OVERFLOW_KEY_NAME = 'otel.metric.overflow';

export interface AdmittedSeries {
  /** The series' attributes: the label set, or the overflow attributes. */
  readonly attributes: Attributes;
  /** Identifies the series within its family. */
  readonly key: string;
  readonly overflow: boolean;
}

/** One family of series: a catalog metric's own, or one derived from it. */
export interface SeriesRequest {
  readonly family: string;
  readonly labels: Labels;
  /** seriesKey(labels), when the caller made it already (see seriesRequest). */
  readonly key?: string;
}

export interface SeriesRegistrySettings {
  /** Distinct series a family may have; past it new label sets fold into its overflow series. */
  readonly maxSeriesPerFamily: number;
  /** A series not updated for this long is forgotten: it leaves /metrics and frees its place. */
  readonly idleExpiryMs: number;
  /** Budgets for new series, per sender. */
  readonly budget: SenderBudget;
}

/**
 * Every series footfall exposes, with when it was last updated: the cap on series per family, the
 * per-sender budget for new ones, and idle expiry, in one place. A family is a Prometheus family name, so
 * a metric is capped once whatever name its sender used.
 */
export interface SeriesRegistry {
  /**
   * The series one point updates (its metric's own and its derived ones), all or none: known ones are
   * touched; new ones are created while their family is under the cap (else they fold into its overflow
   * series) and paid for from the sender's budget. The requests name distinct families. Undefined when that budget cannot pay: nothing is
   * created or touched then. `subject` undefined: a sender without a per-sender budget.
   */
  admit(requests: readonly SeriesRequest[], subject: string | undefined, now: number): AdmittedSeries[] | undefined;
  /** A series from the state file: under the cap, free of any budget, with its saved last-update time. */
  restore(family: string, attributes: Attributes, lastUpdated: number): AdmittedSeries;
  /** When a series (by its attributes) was last updated; undefined for one not (or no longer) known. */
  lastUpdated(family: string, attributes: Attributes): number | undefined;
  /** Forgets the series not updated since `now − idleExpiryMs`; returns how many. */
  expire(now: number): number;
  /** Series known per family. */
  sizes(): Map<string, number>;
}

/** Label names with a token so far; past this many a name is spelt out in full. */
const MAX_NAME_TOKENS = 4096;
const nameTokens = new Map<string, string>();

/**
 * A label name's part of a series key: a short token (`3=`) given to each name the first time it is
 * seen, the same in every key this process makes (keys are never saved). Names are the catalog's, so
 * there are few; past the cap a name is spelt out with its length in front (`12:dashboard_uid`), which
 * the `:` tells from a token. A key is hashed on every point, so the shorter the better: the tokens made
 * keys half as long.
 */
function nameToken(name: string): string {
  let token = nameTokens.get(name);
  if (token === undefined) {
    if (nameTokens.size >= MAX_NAME_TOKENS) {
      return `${name.length}:${name}`;
    }
    nameTokens.set(name, (token = `${nameTokens.size}=`));
  }
  return token;
}

/**
 * An unambiguous key for an attribute set, whatever the order of its keys: each name's token and each
 * value with its length in front (`0=2:d1`), names sorted, so no value can forge a separator.
 */
export function seriesKey(attributes: Attributes): string {
  const names = Object.keys(attributes);
  if (names.length > 1) {
    names.sort();
  }
  let key = '';
  for (const name of names) {
    const value = String(attributes[name]);
    key += `${nameToken(name)}${value.length}:${value}`;
  }
  return key;
}

/**
 * The request for a family's series: the labels among `names` (sorted) that `labels` has, and their
 * seriesKey, made in one pass, as a point does for each family it feeds. Concatenated rather than
 * joined from an array (a quarter faster); a key is kept only once hashed, which flattens it.
 */
export function seriesRequest(family: string, labels: Labels, sortedNames: readonly string[]): SeriesRequest {
  const out: Labels = {};
  let key = '';
  for (const name of sortedNames) {
    const value = labels[name];
    if (value === undefined) {
      continue;
    }
    out[name] = value;
    key += `${nameToken(name)}${value.length}:${value}`;
  }
  return { family, labels: out, key };
}

const OVERFLOW_KEY = seriesKey(OVERFLOW_ATTRIBUTES);

export function createSeriesRegistry(settings: SeriesRegistrySettings): SeriesRegistry {
  const { maxSeriesPerFamily, idleExpiryMs, budget } = settings;
  /**
   * family → series key → when it was last updated (ms since the epoch), in a holder so a known series
   * is touched with the one look-up that finds it. The overflow series is one of them.
   */
  const families = new Map<string, Map<string, { at: number }>>();

  function familyOf(name: string): Map<string, { at: number }> {
    let family = families.get(name);
    if (family === undefined) {
      family = new Map();
      families.set(name, family);
    }
    return family;
  }

  /** Series in a family not counting its overflow series, which never takes a place under the cap. */
  function used(family: Map<string, { at: number }>): number {
    return family.size - (family.has(OVERFLOW_KEY) ? 1 : 0);
  }

  return {
    admit(requests, subject, now) {
      const admitted: AdmittedSeries[] = new Array(requests.length);
      // Series found or to be made, touched only once the whole point is admitted.
      const touched: Array<{ at: number } | Map<string, { at: number }>> = new Array(requests.length);
      let created = 0;
      for (let i = 0; i < requests.length; i++) {
        const { family: name, labels } = requests[i]!;
        const family = familyOf(name);
        const key = requests[i]!.key ?? seriesKey(labels);
        const known = family.get(key);
        if (known !== undefined) {
          admitted[i] = { attributes: labels, key, overflow: false };
          touched[i] = known;
        } else if (used(family) < maxSeriesPerFamily) {
          admitted[i] = { attributes: labels, key, overflow: false };
          touched[i] = family;
          created++;
        } else {
          admitted[i] = { attributes: OVERFLOW_ATTRIBUTES, key: OVERFLOW_KEY, overflow: true };
          touched[i] = family;
        }
      }
      if (created > 0 && subject !== undefined && !budget.take(subject, created, now)) {
        return undefined;
      }
      for (let i = 0; i < requests.length; i++) {
        const t = touched[i]!;
        if (t instanceof Map) {
          const key = admitted[i]!.key;
          const entry = t.get(key);
          if (entry === undefined) {
            t.set(key, { at: now });
          } else {
            entry.at = now;
          }
        } else {
          t.at = now;
        }
      }
      return admitted;
    },

    restore(name, attributes, lastUpdated) {
      const family = familyOf(name);
      const overflow = Object.hasOwn(attributes, OVERFLOW_KEY_NAME);
      let key = overflow ? OVERFLOW_KEY : seriesKey(attributes);
      if (!overflow && !family.has(key) && used(family) >= maxSeriesPerFamily) {
        key = OVERFLOW_KEY;
      }
      const entry = family.get(key);
      if (entry === undefined) {
        family.set(key, { at: lastUpdated });
      } else {
        entry.at = Math.max(entry.at, lastUpdated);
      }
      return key === OVERFLOW_KEY
        ? { attributes: OVERFLOW_ATTRIBUTES, key, overflow: true }
        : { attributes, key, overflow: false };
    },

    lastUpdated(name, attributes) {
      const key = Object.hasOwn(attributes, OVERFLOW_KEY_NAME) ? OVERFLOW_KEY : seriesKey(attributes);
      return families.get(name)?.get(key)?.at;
    },

    expire(now) {
      const before = now - idleExpiryMs;
      let expired = 0;
      for (const family of families.values()) {
        for (const [key, { at }] of family) {
          if (at < before) {
            family.delete(key);
            expired++;
          }
        }
      }
      return expired;
    },

    sizes() {
      return new Map([...families].map(([name, family]) => [name, family.size]));
    },
  };
}
