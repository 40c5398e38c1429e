import { memoize } from '../memo.js';
import type { AttributeList } from '../decode/index.js';
import type { IngestStats } from '../stats.js';
import { labelName } from './label-name.js';

export interface AttributeLimitSettings {
  readonly maxAttributesPerPoint: number;
  readonly maxKeyLength: number;
  readonly maxValueLength: number;
}

/** Label name → value, ready for an SDK instrument. */
export type Labels = Record<string, string>;

/**
 * Turns an attribute list into Prometheus-safe labels: canonical names, one value per name (the first
 * wins on a collision such as `user.login` + `user_login`), string values cut to length, keys over
 * length dropped, and at most N labels. `allowed` (canonical names) narrows the result to a metric's
 * declared attributes; `fallback` fills declared attributes missing on the point (resource attributes).
 */
export interface AttributeLimiter {
  canonicalize(attributes: AttributeList, stats: IngestStats): Labels;
  apply(point: AttributeList, fallback: Labels, allowed: ReadonlySet<string>, stats: IngestStats): Labels;
}

const DROPPED = '';

/** A value as a label holds it: well-formed UTF-16, cut to `maxLength` units without halving a surrogate pair. */
export function labelValue(value: string, maxLength: number): string {
  const text = value.isWellFormed() ? value : value.toWellFormed();
  if (text.length <= maxLength) {
    return text;
  }
  let end = maxLength;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) {
    end--;
  }
  return text.slice(0, end);
}

export function createAttributeLimiter(settings: AttributeLimitSettings): AttributeLimiter {
  // Keys repeat across points; remember their label names (bounded, since keys are client input).
  const labelNameOf = memoize((key) => labelName(key) ?? DROPPED, 4096, settings.maxKeyLength);

  function nameOf(key: string): string {
    // Over-long keys are dropped without being looked at.
    return key.length > settings.maxKeyLength ? DROPPED : labelNameOf(key);
  }

  /**
   * The label value, or undefined to drop the attribute. Values must be well-formed UTF-16: a lone
   * surrogate is written as U+FFFD by the exporter, so two different values could print as one series.
   * An empty value is dropped because Prometheus treats `l=""` as no label at all.
   */
  function valueOf(value: string | number | boolean, stats: IngestStats): string | undefined {
    const text = typeof value === 'string' ? value : String(value);
    if (text === '') {
      return undefined;
    }
    const capped = labelValue(text, settings.maxValueLength);
    if (capped.length < text.length) {
      stats.dropAttribute('value_truncated');
    }
    return capped;
  }

  function canonicalize(
    attributes: AttributeList,
    stats: IngestStats,
    allowed?: ReadonlySet<string>,
    max = settings.maxAttributesPerPoint
  ): Labels {
    const labels: Labels = {};
    let count = 0;
    for (const [key, value] of attributes) {
      const name = nameOf(key);
      if (name === DROPPED) {
        stats.dropAttribute('invalid_key');
        continue;
      }
      if (allowed !== undefined && !allowed.has(name)) {
        stats.dropAttribute('undeclared');
        continue;
      }
      if (Object.hasOwn(labels, name)) {
        stats.dropAttribute('collision');
        continue;
      }
      if (count >= max) {
        stats.dropAttribute('too_many');
        continue;
      }
      const text = valueOf(value, stats);
      if (text === undefined) {
        stats.dropAttribute('empty_value');
        continue;
      }
      labels[name] = text;
      count++;
    }
    return labels;
  }

  return {
    // Resource labels are only a fallback for declared labels; the per-point cap applies in apply(),
    // after undeclared ones are gone, so it is not spent on a resource's other attributes.
    canonicalize: (attributes, stats) => canonicalize(attributes, stats, undefined, Infinity),
    apply(point, fallback, allowed, stats) {
      const labels = canonicalize(point, stats, allowed);
      let count = Object.keys(labels).length;
      for (const name in fallback) {
        if (count >= settings.maxAttributesPerPoint) {
          break;
        }
        if (allowed.has(name) && !Object.hasOwn(labels, name)) {
          labels[name] = fallback[name]!;
          count++;
        }
      }
      return labels;
    },
  };
}
