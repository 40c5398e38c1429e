/**
 * Grafana's template service as a plugin reaches it (`getTemplateSrv()` and `props.replaceVariables`):
 * the dashboard's variables, and interpolation of them and of Grafana's built-in `__dashboard`,
 * `__user` and `__org` variables. Core's own TemplateSrv lives in Grafana's app code, not in a
 * package, hence this stand-in.
 *
 * On a Scenes dashboard (every dashboard from Grafana 11.3 on) `getVariables()` returns the
 * dashboard's variables converted back to the saved model (sceneVariablesSetToVariables with
 * keepQueryOptions): not the `TypedVariableModel`s the interface promises, and with defaults left
 * out — no `hide` when it is 0, no `multi` or `skipUrlSync` when false, no `id`, `index` or `state`.
 * The models here have that shape, so a plugin meets what Grafana really hands it.
 */
import type { ScopedVars, TypedVariableModel } from '@grafana/data';
import { config, type TemplateSrv } from '@grafana/runtime';
import type { AdHocFilterSpec, AnyVariableSpec, DashboardRef, VariableHideSpec } from './harness-api.ts';

interface VariableOptionModel {
  text: string | string[];
  value: string | string[];
  selected?: boolean;
}

/** A variable as a Scenes dashboard's template service lists it (fields absent where Grafana drops them). */
export interface SceneVariableModel {
  readonly name: string;
  readonly type: 'custom' | 'query' | 'constant' | 'textbox' | 'adhoc';
  label?: string;
  hide?: VariableHideSpec;
  skipUrlSync?: boolean;
  current?: VariableOptionModel;
  options?: VariableOptionModel[];
  query?: string;
  multi?: boolean;
  includeAll?: boolean;
  datasource?: { type: string; uid: string } | null;
  definition?: string;
  refresh?: number;
  regex?: string;
  filters?: AdHocFilterSpec[];
  baseFilters?: AdHocFilterSpec[];
}

export interface DashboardTemplateSrv extends TemplateSrv {
  /** What a dashboard load does: its identity and variables replace the previous dashboard's. */
  load(dashboard: DashboardRef, variables: readonly AnyVariableSpec[]): void;
  /** The dashboard went away (Scenes restores the empty scene context): no variables, no `__dashboard`. */
  clear(): void;
  setCurrent(name: string, values: readonly string[]): SceneVariableModel;
  /** The loaded variables, for URL sync. */
  models(): readonly SceneVariableModel[];
}

const DEFAULT_DATASOURCE = { type: 'prometheus', uid: 'prometheus' };

function currentOf(values: readonly string[], multi: boolean): VariableOptionModel {
  const value = multi ? [...values] : (values[0] ?? '');
  return { text: value, value };
}

/** sceneVariablesSetToVariables for one variable, defaults removed as it removes them. */
function sceneModel(spec: AnyVariableSpec): SceneVariableModel {
  const common = { name: spec.name, label: spec.label, hide: spec.hide ?? 0, skipUrlSync: spec.skipUrlSync ?? false };
  let model: SceneVariableModel;
  if (spec.type === 'adhoc') {
    model = {
      ...common,
      type: 'adhoc',
      datasource: spec.datasource ?? DEFAULT_DATASOURCE,
      baseFilters: [],
      filters: spec.filters.map((filter) => ({ ...filter })),
    };
  } else {
    const type = spec.type ?? 'custom';
    const multi = type !== 'constant' && type !== 'textbox' && (spec.multi ?? spec.values.length !== 1);
    const current = currentOf(spec.values, multi);
    const options = spec.values.map((value) => ({ text: value, value, selected: true }));
    switch (type) {
      case 'custom':
        model = { ...common, type, current, options, query: spec.values.join(','), multi, includeAll: false };
        break;
      case 'query':
        model = {
          ...common,
          type,
          current,
          options,
          query: `label_values(${spec.name})`,
          definition: `label_values(${spec.name})`,
          datasource: spec.datasource ?? DEFAULT_DATASOURCE,
          refresh: 1,
          regex: '',
          includeAll: false,
          multi,
        };
        break;
      case 'constant':
        model = { ...common, type, current, query: String(current.value), hide: 2 };
        break;
      case 'textbox':
        model = { ...common, type, current, options: [{ ...current, selected: true }], query: String(current.value) };
        break;
    }
  }
  if (model.hide === 0) {
    delete model.hide;
  }
  if (!model.skipUrlSync) {
    delete model.skipUrlSync;
  }
  if (!model.multi) {
    delete model.multi;
  }
  if (model.label === undefined || model.label === '') {
    delete model.label;
  }
  return model;
}

/** Grafana's formats for a multi-value variable: `glob` by default, `csv`/`raw` join with commas. */
function format(value: string | string[], formatName: string | undefined): string {
  if (!Array.isArray(value)) {
    return value;
  }
  if (formatName === 'csv' || formatName === 'raw') {
    return value.join(',');
  }
  return value.length === 1 ? value[0]! : `{${value.join(',')}}`;
}

// `$name`, `${name}`, `${name.field}`, `${name:format}` and the deprecated `[[name]]`, as Grafana's
// variableRegex matches them.
const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:}]+))?(?::([^}]+))?\}/g;

export function createTemplateSrv(): DashboardTemplateSrv {
  let dashboard: DashboardRef = { uid: '', title: '' };
  let variables: SceneVariableModel[] = [];

  /** Built-in variables: an object whose fields a path reads, and whose text is its `toString`. */
  const builtIn = (name: string): Record<string, unknown> | undefined => {
    const user = config.bootData.user;
    switch (name) {
      case '__dashboard':
        return { name: dashboard.title, uid: dashboard.uid, toString: () => dashboard.title };
      case '__user':
        return { login: user.login, id: user.id, email: user.email, toString: () => String(user.id) };
      case '__org':
        return { name: user.orgName, id: user.orgId, toString: () => String(user.orgId) };
      default:
        return undefined;
    }
  };

  const lookup = (name: string, fieldPath: string | undefined, formatName: string | undefined, scoped?: ScopedVars) => {
    const scopedValue = scoped?.[name]?.value;
    if (scopedValue !== undefined) {
      return format(scopedValue as string | string[], formatName);
    }
    const system = builtIn(name);
    if (system) {
      return String(fieldPath === undefined ? system : (system[fieldPath] ?? ''));
    }
    const value = variables.find((v) => v.name === name)?.current?.value;
    return value === undefined ? undefined : format(value, formatName);
  };

  return {
    load(next, specs) {
      dashboard = next;
      variables = specs.map(sceneModel);
    },
    clear() {
      dashboard = { uid: '', title: '' };
      variables = [];
    },
    setCurrent(name, values) {
      const variable = variables.find((v) => v.name === name);
      if (!variable?.current) {
        throw new Error(`no variable with values named ${name} on dashboard ${dashboard.uid}`);
      }
      variable.current = currentOf(values, variable.multi === true);
      for (const option of variable.options ?? []) {
        option.selected = values.includes(String(option.value));
      }
      return variable;
    },
    models: () => variables,
    // Grafana hands plugins the saved-model shape under this type too (with a ts-expect-error).
    getVariables: () => variables.map((v) => structuredClone(v)) as unknown as TypedVariableModel[],
    replace(target, scopedVars, formatArg) {
      if (!target) {
        return target ?? '';
      }
      const formatName = typeof formatArg === 'string' ? formatArg : undefined;
      return target.replace(
        VARIABLE,
        (
          match,
          bare?: string,
          bracketed?: string,
          bracketFormat?: string,
          braced?: string,
          path?: string,
          bracedFormat?: string
        ) => {
          const value = lookup(
            (bare ?? bracketed ?? braced)!,
            path,
            bracedFormat ?? bracketFormat ?? formatName,
            scopedVars
          );
          return value ?? match;
        }
      );
    },
    containsTemplate: (target) => typeof target === 'string' && new RegExp(VARIABLE.source).test(target),
    // The template service keeps the range for `$__from`/`$__to`, which the harness does not interpolate.
    updateTimeRange: () => undefined,
  };
}
