/**
 * What the user chose on a dashboard: template variable values and the time range, normalised to the
 * strings the panel records. Values are capped so one dashboard with a 500-value multi-select cannot
 * flood the collector; the collector's own series cap is the second line of defence.
 *
 * Only choices are recorded. Ad-hoc filters count by their keys (which label was filtered on), never
 * their values, which can be anything a user typed or clicked, a trace id or an e-mail address.
 * Constants and text boxes (configuration or free text) and hidden variables (nobody picked them) are
 * left out unless the policy asks for them.
 */
import { capText, MAX_VALUE_LENGTH } from './cap-text.ts';
import { ABSOLUTE_TIME_RANGE } from './names.ts';

/** Values recorded per variable per selection, ad-hoc filter keys included; more are cut (a multi-select of "everything"). */
export const MAX_VALUES_PER_VARIABLE = 10;
/** Variables recorded per dashboard. */
export const MAX_VARIABLES = 25;

/** name → selected values (for an ad-hoc variable, its filter keys), in a stable order. */
export type VariableSelection = ReadonlyMap<string, readonly string[]>;

/** Which variables are recorded. */
export interface VariablePolicy {
  /** Names recorded; undefined records every variable the rules below let through. */
  readonly allowList: ReadonlySet<string> | undefined;
  /** Constants and text boxes: configuration, or whatever a user typed. */
  readonly recordTextVariables: boolean;
  /** Variables hidden from the dashboard (`hide: 2`); a hidden label alone still shows the picker. */
  readonly recordHiddenVariables: boolean;
}

/** The allow-list option: comma- or space-separated names; empty allows every variable. */
export function parseAllowList(option: string): ReadonlySet<string> | undefined {
  const names = option
    .split(/[\s,]+/)
    .map((n) => n.trim().replace(/^\$/, ''))
    .filter((n) => n !== '');
  return names.length === 0 ? undefined : new Set(names);
}

/** The policy from the allow-list option; text and hidden variables stay out unless asked for. */
export function variablePolicy(
  allowListOption: string,
  include: { readonly recordTextVariables?: boolean; readonly recordHiddenVariables?: boolean } = {}
): VariablePolicy {
  return {
    allowList: parseAllowList(allowListOption),
    recordTextVariables: include.recordTextVariables ?? false,
    recordHiddenVariables: include.recordHiddenVariables ?? false,
  };
}

/** What the template service says of a variable that its URL parameter does not. */
export interface VariableKind {
  /** Grafana's variable type: `query`, `custom`, `adhoc`, `textbox`, `constant` … */
  readonly type: string | undefined;
  /** Grafana's VariableHide: 0 shown, 1 label hidden, 2 (`hideVariable`) hidden, 3 in the controls menu. */
  readonly hide: unknown;
}

/** The fields of a variable model this module reads; Grafana's TypedVariableModel has them. */
export interface VariableModel {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly hide?: unknown;
  readonly current?: { readonly value?: unknown } | null;
  /** An ad-hoc variable's filters: `{ key, operator, value }`. */
  readonly filters?: unknown;
}

/** name → kind, from the models of Grafana's TemplateSrv.getVariables(); empty for anything else. */
export function variableKinds(models: unknown): ReadonlyMap<string, VariableKind> {
  const out = new Map<string, VariableKind>();
  if (!Array.isArray(models)) {
    return out;
  }
  for (const model of models as ReadonlyArray<VariableModel | null>) {
    if (typeof model?.name === 'string') {
      out.set(model.name, { type: typeof model.type === 'string' ? model.type : undefined, hide: model.hide });
    }
  }
  return out;
}

const TEXT_TYPES = new Set(['constant', 'textbox']);

const isHidden = (hide: unknown): boolean => hide === 2 || hide === 'hideVariable';

/** Whether a variable is recorded at all; Grafana's own variables (__dashboard, __user …) are not choices a user made. */
function recorded(name: string, kind: VariableKind | undefined, policy: VariablePolicy): boolean {
  if (name === '' || name.startsWith('__')) {
    return false;
  }
  if (policy.allowList !== undefined && !policy.allowList.has(name)) {
    return false;
  }
  if (kind === undefined) {
    return true;
  }
  if (!policy.recordTextVariables && kind.type !== undefined && TEXT_TYPES.has(kind.type)) {
    return false;
  }
  return policy.recordHiddenVariables || !isHidden(kind.hide);
}

/** Distinct, capped, at most MAX_VALUES_PER_VARIABLE. */
function bounded(values: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const v of values) {
    if (out.size >= MAX_VALUES_PER_VARIABLE) {
      break;
    }
    out.add(capText(v, MAX_VALUE_LENGTH));
  }
  return [...out];
}

function valuesOf(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const v of list) {
    if (typeof v === 'string') {
      out.push(v);
    } else if (typeof v === 'number' || typeof v === 'boolean') {
      out.push(String(v));
    }
    // Anything else (objects, null) is not a selectable value.
  }
  return out;
}

/**
 * Ad-hoc filter operators as Grafana writes them in the URL (Scenes' OPERATORS and the older
 * dashboards' list), and `groupBy` for a group-by dimension kept in the same variable.
 */
const ADHOC_OPERATORS = new Set(['=', '!=', '=|', '!=|', '=~', '!~', '<', '<=', '>', '>=', 'groupBy']);

/** Grafana escapes the URL's delimiters inside a filter's parts: `|`, `,` (key from label) and `#` (origin). */
const unescapeUrlDelimiters = (part: string): string =>
  part.replaceAll('__gfp__', '|').replaceAll('__gfc__', ',').replaceAll('__gfh__', '#');

/**
 * The key of an ad-hoc filter as Grafana puts it in a `var-<name>` value, or undefined when the value
 * does not have that shape. Scenes writes `key[,keyLabel]|operator|value[,valueLabel]|…`, with
 * `#origin#restorable` after filters a dashboard or scope brought, and `key|groupBy` for a group-by;
 * older dashboards write `key|operator|value`.
 */
function adhocFilterKey(text: string): string | undefined {
  const parts = text.split('|');
  if (parts.length < 2) {
    return undefined;
  }
  const operator = unescapeUrlDelimiters((parts[1] ?? '').split('#')[0] ?? '');
  if (!ADHOC_OPERATORS.has(operator)) {
    return undefined;
  }
  return unescapeUrlDelimiters((parts[0] ?? '').split(',')[0] ?? '');
}

/** Filter keys of an ad-hoc variable's URL values; other values are dropped, never recorded. */
function adhocKeysFromUrl(values: readonly string[]): string[] {
  return bounded(values.map(adhocFilterKey).filter((k): k is string => k !== undefined && k !== ''));
}

/**
 * Variables from the URL's `var-<name>` parameters, which Grafana keeps in sync with the pickers.
 * The URL does not say a variable's type: pass `kinds` (from the template service's models) when
 * there are any; without a kind, a value shaped like an ad-hoc filter makes the variable one.
 */
export function variablesFromSearch(
  search: Readonly<Record<string, unknown>>,
  policy: VariablePolicy,
  kinds?: ReadonlyMap<string, VariableKind>
): VariableSelection {
  const out = new Map<string, readonly string[]>();
  for (const [key, value] of Object.entries(search)) {
    if (!key.startsWith('var-')) {
      continue;
    }
    const name = key.slice(4);
    const kind = kinds?.get(name);
    if (!recorded(name, kind, policy) || out.size >= MAX_VARIABLES) {
      continue;
    }
    const values = valuesOf(value);
    const adhoc =
      kind?.type === 'adhoc' || (kind?.type === undefined && values.some((v) => adhocFilterKey(v) !== undefined));
    out.set(capText(name, MAX_VALUE_LENGTH), adhoc ? adhocKeysFromUrl(values) : bounded(values));
  }
  return out;
}

/** Keys of an ad-hoc variable model's filters. */
function adhocKeysFromModel(filters: unknown): string[] {
  if (!Array.isArray(filters)) {
    return [];
  }
  const keys = (filters as ReadonlyArray<{ readonly key?: unknown } | null>).map((f) => f?.key);
  return bounded(keys.filter((k): k is string => typeof k === 'string' && k !== ''));
}

/** Variables as Grafana's template service lists them (`current.value` is a string or a list; an ad-hoc one has `filters`). */
export function variablesFromModels(models: readonly VariableModel[], policy: VariablePolicy): VariableSelection {
  const out = new Map<string, readonly string[]>();
  for (const model of models) {
    const name = typeof model.name === 'string' ? model.name : '';
    const type = typeof model.type === 'string' ? model.type : undefined;
    if (!recorded(name, { type, hide: model.hide }, policy) || out.size >= MAX_VARIABLES) {
      continue;
    }
    out.set(
      capText(name, MAX_VALUE_LENGTH),
      type === 'adhoc' ? adhocKeysFromModel(model.filters) : bounded(valuesOf(model.current?.value))
    );
  }
  return out;
}

/** Variables whose values differ between two selections (added ones included, removed ones not). */
export function changedVariables(before: VariableSelection, after: VariableSelection): VariableSelection {
  const out = new Map<string, readonly string[]>();
  for (const [name, values] of after) {
    const old = before.get(name);
    if (old === undefined || old.join('\u0000') !== values.join('\u0000')) {
      out.set(name, values);
    }
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
  if (f === '' || t === '') {
    return '';
  }
  if (!RELATIVE.test(f) || !RELATIVE.test(t)) {
    return ABSOLUTE_TIME_RANGE;
  }
  return t === 'now' ? f : `${f}..${t}`;
}

/** A raw time-range end as Grafana hands it over: a string, or a date object for absolute ranges ('' if none). */
export function rawTimeText(value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number') {
    return String(value);
  }
  return value === undefined || value === null ? '' : ABSOLUTE_TIME_RANGE;
}
