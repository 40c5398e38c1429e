/**
 * Grafana's template service as a panel reaches it (`getTemplateSrv()` and `props.replaceVariables`):
 * the dashboard's variables as `TypedVariableModel`s, and interpolation of them and of Grafana's
 * built-in `__dashboard`, `__user` and `__org` variables. Core's own TemplateSrv lives in Grafana's
 * app code, not in a package, hence this stand-in.
 */
import { LoadingState, VariableHide, type CustomVariableModel, type ScopedVars } from '@grafana/data';
import { config, type TemplateSrv } from '@grafana/runtime';
import type { DashboardRef, VariableSpec } from './harness-api.ts';

export interface DashboardTemplateSrv extends TemplateSrv {
  /** What a dashboard load does: its identity and variables replace the previous dashboard's. */
  load(dashboard: DashboardRef, variables: readonly VariableSpec[]): void;
  setCurrent(name: string, values: readonly string[]): CustomVariableModel;
}

function customVariable(spec: VariableSpec, index: number, dashboardUid: string): CustomVariableModel {
  const multi = spec.multi ?? spec.values.length !== 1;
  const model: CustomVariableModel = {
    id: spec.name,
    name: spec.name,
    label: spec.name,
    type: 'custom',
    rootStateKey: dashboardUid,
    global: false,
    hide: VariableHide.dontHide,
    skipUrlSync: false,
    index,
    state: LoadingState.Done,
    error: null,
    description: null,
    multi,
    includeAll: false,
    allValue: null,
    query: spec.values.join(','),
    current: {},
    options: spec.values.map((value) => ({ text: value, value, selected: true })),
  };
  setCurrentValue(model, spec.values);
  return model;
}

function setCurrentValue(model: CustomVariableModel, values: readonly string[]): void {
  const value = model.multi ? [...values] : (values[0] ?? '');
  model.current = { text: value, value, selected: true };
  for (const option of model.options) option.selected = values.includes(String(option.value));
}

/** Grafana's formats for a multi-value variable: `glob` by default, `csv`/`raw` join with commas. */
function format(value: string | string[], formatName: string | undefined): string {
  if (!Array.isArray(value)) return value;
  if (formatName === 'csv' || formatName === 'raw') return value.join(',');
  return value.length === 1 ? value[0]! : `{${value.join(',')}}`;
}

// `$name`, `${name}`, `${name.field}`, `${name:format}` and the deprecated `[[name]]`, as Grafana's
// variableRegex matches them.
const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:}]+))?(?::([^}]+))?\}/g;

export function createTemplateSrv(): DashboardTemplateSrv {
  let dashboard: DashboardRef = { uid: '', title: '' };
  let variables: CustomVariableModel[] = [];

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
    if (scopedValue !== undefined) return format(scopedValue as string | string[], formatName);
    const system = builtIn(name);
    if (system) return String(fieldPath === undefined ? system : (system[fieldPath] ?? ''));
    const variable = variables.find((v) => v.name === name);
    return variable && 'value' in variable.current ? format(variable.current.value, formatName) : undefined;
  };

  return {
    load(next, specs) {
      dashboard = next;
      variables = specs.map((spec, index) => customVariable(spec, index, next.uid));
    },
    setCurrent(name, values) {
      const variable = variables.find((v) => v.name === name);
      if (!variable) throw new Error(`no variable ${name} on dashboard ${dashboard.uid}`);
      setCurrentValue(variable, values);
      return variable;
    },
    getVariables: () => [...variables],
    replace(target, scopedVars, formatArg) {
      if (!target) return target ?? '';
      const formatName = typeof formatArg === 'string' ? formatArg : undefined;
      return target.replace(
        VARIABLE,
        (match, bare?: string, bracketed?: string, bracketFormat?: string, braced?: string, path?: string, bracedFormat?: string) => {
          const value = lookup((bare ?? bracketed ?? braced)!, path, bracedFormat ?? bracketFormat ?? formatName, scopedVars);
          return value ?? match;
        },
      );
    },
    containsTemplate: (target) => typeof target === 'string' && new RegExp(VARIABLE.source).test(target),
    // The template service keeps the range for `$__from`/`$__to`, which the harness does not interpolate.
    updateTimeRange: () => undefined,
  };
}
