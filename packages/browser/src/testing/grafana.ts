/**
 * Grafana as a panel sees it, set up through @grafana/runtime's real `config` and setters: users
 * shaped like each supported Grafana line, build info, the sub-path, and `replaceVariables` as the
 * legacy dashboard architecture and Scenes interpolate `${__dashboard}`.
 */
import { config, setTemplateSrv, type TemplateSrv } from '@grafana/runtime';
import type { TypedVariableModel } from '@grafana/data';

type BootUser = typeof config.bootData.user;

/** Fields every supported Grafana has on `config.bootData.user`. */
const COMMON = {
  isSignedIn: true,
  id: 42,
  uid: 'u-42',
  externalUserId: '',
  login: 'jdoe',
  email: 'jane.doe@example.com',
  name: 'Jane Doe',
  orgCount: 1,
  orgId: 1,
  orgName: 'Main Org.',
  orgRole: 'Editor',
  isGrafanaAdmin: false,
  gravatarUrl: '/avatar/1',
  theme: 'dark',
  timezone: 'Europe/Berlin',
  weekStart: 'monday',
  analytics: { identifier: 'jdoe@grafana.example.com', intercomIdentifier: '' },
  authenticatedBy: 'password',
  permissions: {},
};

/** Grafana 11.x (and 12.0): `locale` for formats; `language` empty while the user keeps the default. */
export const USER_11 = { ...COMMON, language: '', locale: 'de-DE', lightTheme: false };
/** Grafana 12.1–13.0: `locale` renamed `regionalFormat`. */
export const USER_12_1 = { ...COMMON, language: '', regionalFormat: 'fr-FR' };
/** Grafana 13.1+: only `language`. */
export const USER_13_1 = { ...COMMON, language: 'pt-BR' };

export function setUser(user: object): void {
  config.bootData.user = user as unknown as BootUser;
}

/**
 * A signed-in user on Grafana 13.1, build info, no sub-path, not a public dashboard, and a template
 * service that lists no variables (so the URL's `var-*` are the variables).
 */
export function resetGrafana(): void {
  setTemplateVariables([]);
  setUser(USER_13_1);
  config.buildInfo = {
    ...config.buildInfo,
    version: '13.1.0',
    edition: 'Open Source' as typeof config.buildInfo.edition,
    env: 'production',
  };
  config.appUrl = 'https://grafana.example.com/';
  config.appSubUrl = '';
  config.publicDashboardAccessToken = undefined;
}

export interface DashboardMeta {
  readonly uid: string;
  readonly title: string;
}

/** Grafana's `${name}` / `${name.path}` / `$name` syntax, resolved by `lookup` (undefined: left as written). */
function interpolate(
  text: string,
  lookup: (name: string, fieldPath: string | undefined) => string | undefined
): string {
  return text.replace(
    /\$\{([\w]+)(?:\.([\w.]+))?(?::[\w]+)?\}|\$([\w]+)/g,
    (whole, braced: string | undefined, path: string | undefined, bare: string | undefined) => {
      const value = lookup((braced ?? bare)!, path);
      return value === undefined ? whole : value;
    }
  );
}

/**
 * The legacy architecture (7.1+): `__dashboard` is a system variable whose value is an object with
 * `name` and `uid` and a `toString` returning the title; a field path reads a property of it.
 */
export function legacyReplaceVariables(dashboard: DashboardMeta): (text: string) => string {
  const value = { name: dashboard.title, uid: dashboard.uid, toString: () => dashboard.title };
  return (text) =>
    interpolate(text, (name, path) => {
      if (name !== '__dashboard') {
        return undefined;
      }
      if (path === undefined) {
        return String(value);
      }
      const field = (value as Record<string, unknown>)[path];
      return field === undefined ? '' : String(field);
    });
}

/** Scenes: a `__dashboard` macro whose value is the uid for `.uid` and the title for anything else. */
export function scenesReplaceVariables(dashboard: DashboardMeta): (text: string) => string {
  return (text) =>
    interpolate(text, (name, path) =>
      name === '__dashboard' ? (path === 'uid' ? dashboard.uid : dashboard.title) : undefined
    );
}

/** A Grafana where the macro is unknown (leaves the text as written). */
export const uninterpolated = (text: string): string => text;

/** A template service listing `variables`, as TemplateSrv.getVariables does in both architectures. */
export function setTemplateVariables(variables: ReadonlyArray<{ name: string; value: string | string[] }>): void {
  const models = variables.map(
    (v) =>
      ({
        name: v.name,
        label: v.name,
        type: 'custom',
        multi: Array.isArray(v.value),
        includeAll: false,
        current: { text: v.value, value: v.value, selected: true },
        options: [],
        query: '',
      }) as unknown as TypedVariableModel
  );
  const srv: TemplateSrv = {
    getVariables: () => models,
    replace: (target) => target ?? '',
    containsTemplate: (target) => typeof target === 'string' && target.includes('$'),
    updateTimeRange: () => undefined,
  };
  setTemplateSrv(srv);
}
