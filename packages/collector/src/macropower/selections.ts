import { ABSOLUTE_TIME_RANGE } from '../aggregate/catalog.js';
import type { PayloadVariable } from './payload.js';

/**
 * The old panel's variables and time range, recorded under the same policy as footfall's browser
 * package (which the collector cannot import: that package imports the collector). Only choices are
 * recorded: constants and text boxes (configuration, or free text) are left out unless asked for,
 * ad-hoc filters count by their keys, never their values, and Grafana's own `__` variables are no
 * choice. The old payload does not say whether a variable is hidden, so hidden ones cannot be told apart.
 */

/** The browser's caps, so a dashboard recorded by either makes the same series. */
export const MAX_VARIABLES = 25;
export const MAX_VALUES_PER_VARIABLE = 10;
export const MAX_TEXT_LENGTH = 128;

export interface VariablePolicy {
  /** Names recorded; undefined records every variable the rules let through. */
  readonly allowList: ReadonlySet<string> | undefined;
  /** Constants and text boxes too. */
  readonly recordText: boolean;
}

/** name → the values to record, capped like the browser's. */
export type VariableSelection = ReadonlyMap<string, readonly string[]>;

const TEXT_TYPES: ReadonlySet<string> = new Set(['constant', 'textbox']);

/** `text` cut to `MAX_TEXT_LENGTH` UTF-16 code units, never between the halves of a surrogate pair. */
function cap(text: string): string {
  if (text.length <= MAX_TEXT_LENGTH) {
    return text;
  }
  const last = text.charCodeAt(MAX_TEXT_LENGTH - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? MAX_TEXT_LENGTH - 1 : MAX_TEXT_LENGTH);
}

/**
 * A value as a selection: strings as they are, numbers and booleans as text (the old server crashed on
 * them). Null, objects and nested lists are no value anyone picked, and are skipped.
 */
function valueText(value: unknown): string | undefined {
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  return undefined;
}

/** An ad-hoc filter's key: `{ key }` as Grafana models it, or `key|operator|value` as URLs spell it. */
function filterKey(value: unknown): string | undefined {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const key = (value as { key?: unknown }).key;
    return typeof key === 'string' ? key : undefined;
  }
  if (typeof value !== 'string') {
    return undefined;
  }
  const bar = value.indexOf('|');
  return bar > 0 ? value.slice(0, bar) : undefined;
}

/** The variables to record from a payload's list. */
export function selectedVariables(variables: readonly PayloadVariable[], policy: VariablePolicy): VariableSelection {
  const out = new Map<string, readonly string[]>();
  for (const variable of variables) {
    if (out.size >= MAX_VARIABLES) {
      break;
    }
    const { name, type } = variable;
    if (name.startsWith('__') || (policy.allowList !== undefined && !policy.allowList.has(name))) {
      continue;
    }
    if (!policy.recordText && TEXT_TYPES.has(type)) {
      continue;
    }
    const read = type === 'adhoc' ? filterKey : valueText;
    const values = new Set<string>();
    for (const value of variable.values) {
      if (values.size >= MAX_VALUES_PER_VARIABLE) {
        break;
      }
      const v = read(value);
      if (v !== undefined && v !== '') {
        values.add(cap(v));
      }
    }
    out.set(cap(name), [...values]);
  }
  return out;
}

/** Grafana's date math: `now`, offsets in y Q M w d h m s, and an optional (fiscal) rounding such as `/d`. */
const RELATIVE = /^now([+-]\d+[smhdwMQy])*(\/f?[smhdwMQy])?$/;

/**
 * The `time_range` label, as the browser makes it: the relative range (`now-6h`, or `now-7d..now-1d`
 * when it does not end now), or `absolute` for fixed dates (which arrive as ISO strings, epoch numbers
 * or a flattened date object). Empty when either end is missing.
 */
export function timeRangeLabel(from: unknown, to: unknown): string {
  if (from === undefined || from === null || from === '' || to === undefined || to === null || to === '') {
    return '';
  }
  if (typeof from !== 'string' || typeof to !== 'string') {
    return ABSOLUTE_TIME_RANGE;
  }
  const f = from.trim();
  const t = to.trim();
  if (!RELATIVE.test(f) || !RELATIVE.test(t)) {
    return ABSOLUTE_TIME_RANGE;
  }
  return cap(t === 'now' ? f : `${f}..${t}`);
}
