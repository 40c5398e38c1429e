/**
 * What the user chose on a dashboard: template variable values and the time range, normalised to the
 * strings the panel records. Values are capped so one dashboard with a 500-value multi-select cannot
 * flood the collector; the collector's own series cap is the second line of defence.
 */
import { ABSOLUTE_TIME_RANGE } from './names.ts';

/** Values recorded per variable per selection; more are cut (a multi-select of "everything"). */
export const MAX_VALUES_PER_VARIABLE = 10;
/** Variables recorded per dashboard. */
export const MAX_VARIABLES = 25;

/** name → selected values, in a stable order. */
export type VariableSelection = ReadonlyMap<string, readonly string[]>;

/** The allow-list option: comma- or space-separated names; empty allows every variable. */
export function parseAllowList(option: string): ReadonlySet<string> | undefined {
  const names = option
    .split(/[\s,]+/)
    .map((n) => n.trim().replace(/^\$/, ''))
    .filter((n) => n !== '');
  return names.length === 0 ? undefined : new Set(names);
}

function valuesOf(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const v of list) {
    if (typeof v === 'string') out.push(v);
    else if (typeof v === 'number' || typeof v === 'boolean') out.push(String(v));
    // Anything else (objects from ad hoc filters, null) is not a selectable value.
  }
  return [...new Set(out)].slice(0, MAX_VALUES_PER_VARIABLE);
}

function allowed(name: string, allowList: ReadonlySet<string> | undefined): boolean {
  // Grafana's own variables (__dashboard, __user …) are not choices a user made.
  return name !== '' && !name.startsWith('__') && (allowList === undefined || allowList.has(name));
}

/** Variables from the URL's `var-<name>` parameters, which Grafana keeps in sync with the pickers. */
export function variablesFromSearch(search: Readonly<Record<string, unknown>>, allowList: ReadonlySet<string> | undefined): VariableSelection {
  const out = new Map<string, readonly string[]>();
  for (const [key, value] of Object.entries(search)) {
    if (!key.startsWith('var-')) continue;
    const name = key.slice(4);
    if (allowed(name, allowList) && out.size < MAX_VARIABLES) out.set(name, valuesOf(value));
  }
  return out;
}

/** Variables as Grafana's template service lists them (`current.value` is a string or a list). */
export function variablesFromModels(
  models: ReadonlyArray<{ readonly name?: unknown; readonly current?: { readonly value?: unknown } | null }>,
  allowList: ReadonlySet<string> | undefined,
): VariableSelection {
  const out = new Map<string, readonly string[]>();
  for (const model of models) {
    const name = typeof model.name === 'string' ? model.name : '';
    if (allowed(name, allowList) && out.size < MAX_VARIABLES) out.set(name, valuesOf(model.current?.value));
  }
  return out;
}

/** Variables whose values differ between two selections (added ones included, removed ones not). */
export function changedVariables(before: VariableSelection, after: VariableSelection): VariableSelection {
  const out = new Map<string, readonly string[]>();
  for (const [name, values] of after) {
    const old = before.get(name);
    if (old === undefined || old.join('\u0000') !== values.join('\u0000')) out.set(name, values);
  }
  return out;
}

/** Grafana's date math: `now`, offsets in y Q M w d h m s, and an optional (fiscal) rounding such as `/d` or `/fQ`. */
const RELATIVE = /^now([+-]\d+[smhdwMQy])*(\/f?[smhdwMQy])?$/;

/**
 * The label of a time range: the relative range as Grafana writes it (`now-6h`, or `now-7d..now-1d`
 * when it does not end now), or `absolute` for fixed dates, whose exact values would make a
 * new series per click. Empty when either end is unknown.
 */
export function timeRangeLabel(from: string, to: string): string {
  const f = from.trim();
  const t = to.trim();
  if (f === '' || t === '') return '';
  if (!RELATIVE.test(f) || !RELATIVE.test(t)) return ABSOLUTE_TIME_RANGE;
  return t === 'now' ? f : `${f}..${t}`;
}

/** A raw time-range end as Grafana hands it over: a string, or a date object for absolute ranges ('' if none). */
export function rawTimeText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return value === undefined || value === null ? '' : ABSOLUTE_TIME_RANGE;
}
