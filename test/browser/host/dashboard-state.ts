/**
 * A dashboard's state as Scenes' URL sync reads it from the URL on load and writes it back: `from`,
 * `to`, `timezone` and one `var-<name>` per variable that syncs (not constants, not `skipUrlSync`).
 * Values in the URL win over the saved ones, as when Grafana opens a dashboard link. Ad hoc filters
 * travel as `key|operator|value`, with `|` and `,` inside a key or value escaped as Scenes does
 * (`__gfp__`, `__gfc__`).
 */
import type { AdHocFilterSpec, AnyVariableSpec, RawRange } from './harness-api.ts';
import type { SceneVariableModel } from './template-srv.ts';

/** Grafana's default dashboard time range. */
export const DEFAULT_RANGE: RawRange = { from: 'now-6h', to: 'now' };

export interface DashboardState {
  readonly variables: readonly AnyVariableSpec[];
  readonly range: RawRange;
  readonly timeZone: string;
}

export interface SavedDashboardState {
  readonly timeRange?: RawRange;
  readonly timeZone?: string;
  readonly variables?: readonly AnyVariableSpec[];
}

const escape = (text: string) => text.replace(/\|/g, '__gfp__').replace(/,/g, '__gfc__');
const unescape = (text: string) => text.replace(/__gfp__/g, '|').replace(/__gfc__/g, ',');

function filterToUrl(filter: AdHocFilterSpec): string {
  return [escape(filter.key), filter.operator, escape(filter.value)].join('|');
}

function filterFromUrl(text: string): AdHocFilterSpec | undefined {
  const [key, operator, value] = text.split('|');
  return key === undefined || operator === undefined || value === undefined
    ? undefined
    : { key: unescape(key), operator, value: unescape(value) };
}

function syncsToUrl(spec: AnyVariableSpec): boolean {
  return spec.type !== 'constant' && !spec.skipUrlSync;
}

/** The state a dashboard opens with at the current URL. */
export function stateAtUrl(saved: SavedDashboardState, search: URLSearchParams): DashboardState {
  const variables = (saved.variables ?? []).map((spec): AnyVariableSpec => {
    const fromUrl = search.getAll(`var-${spec.name}`);
    if (!syncsToUrl(spec) || fromUrl.length === 0) {
      return spec;
    }
    if (spec.type === 'adhoc') {
      return { ...spec, filters: fromUrl.map(filterFromUrl).filter((f): f is AdHocFilterSpec => f !== undefined) };
    }
    return { ...spec, multi: spec.multi ?? spec.values.length !== 1, values: fromUrl };
  });
  const urlFrom = search.get('from');
  const urlTo = search.get('to');
  return {
    variables,
    range: urlFrom && urlTo ? { from: urlFrom, to: urlTo } : (saved.timeRange ?? DEFAULT_RANGE),
    timeZone: search.get('timezone') ?? saved.timeZone ?? 'browser',
  };
}

/** What URL sync writes for a loaded dashboard: its range, time zone and syncing variables. */
export function urlValues(
  range: RawRange,
  timeZone: string,
  models: readonly SceneVariableModel[]
): Record<string, string | string[]> {
  const values: Record<string, string | string[]> = { from: range.from, to: range.to, timezone: timeZone };
  for (const model of models) {
    if (model.type === 'constant' || model.skipUrlSync) {
      continue;
    }
    // An empty filter list is written as one empty value, so it still overrides saved filters.
    if (model.type === 'adhoc') {
      values[`var-${model.name}`] = model.filters?.length ? model.filters.map(filterToUrl) : [''];
    } else if (model.current) {
      values[`var-${model.name}`] = model.current.value;
    }
  }
  return values;
}
