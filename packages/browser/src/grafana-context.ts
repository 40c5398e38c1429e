/**
 * What the panel learns from Grafana, read defensively: field names moved between 11.x and 13.x
 * (`locale` → `regionalFormat` → gone; `lightTheme` → `theme`), and a panel must not break when one
 * is missing. Only public API: `config` and `locationService` from @grafana/runtime, and the panel's
 * own `replaceVariables`.
 */
import { config } from '@grafana/runtime';

export interface UserContext {
  /** The org role (`Admin`, `Editor`, `Viewer`), `None`, or `Anonymous` for anonymous access. */
  readonly role: string;
  readonly theme: string;
  readonly timezone: string;
  readonly locale: string;
  /** Only read when the `sendIdentity` option is on. */
  readonly login: string;
  readonly name: string;
}

export interface GrafanaInfo {
  readonly host: string;
  readonly env: string;
  readonly version: string;
  readonly edition: string;
}

/** A string field of an object Grafana handed over, or '' when it is missing or not a string. */
export function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** The browser's own time zone, for users whose preference is "browser" or unset. */
function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'browser';
  } catch {
    return 'browser';
  }
}

/** The user as `config.bootData.user` describes them, on any Grafana from 11.6 to 13.x. */
export function readUser(user: unknown, navigatorLanguage: string | undefined): UserContext {
  const u = (typeof user === 'object' && user !== null ? user : {}) as Record<string, unknown>;
  const role = u.isSignedIn === false ? 'Anonymous' : text(u.orgRole) || 'None';
  const theme = text(u.theme) || (u.lightTheme === true ? 'light' : u.lightTheme === false ? 'dark' : '');
  const tz = text(u.timezone);
  const timezone = tz === '' || tz === 'browser' ? browserTimeZone() : tz;
  // `language` exists throughout; `regionalFormat` (12.1–13.0) and `locale` (≤ 12.0) before it was split.
  const locale = text(u.language) || text(u.regionalFormat) || text(u.locale) || navigatorLanguage || '';
  return { role, theme, timezone, locale, login: text(u.login), name: text(u.name) };
}

export function currentUser(navigatorLanguage: string | undefined): UserContext {
  return readUser(config.bootData?.user, navigatorLanguage);
}

function hostOf(appUrl: string, fallback: string): string {
  try {
    return new URL(appUrl).host || fallback;
  } catch {
    return fallback;
  }
}

export function currentGrafana(): GrafanaInfo {
  const build = (config.buildInfo ?? {}) as unknown as Record<string, unknown>;
  const fallbackHost = typeof location === 'undefined' ? '' : location.host;
  return {
    host: hostOf(text(config.appUrl), fallbackHost),
    env: text(build.env),
    version: text(build.version),
    edition: text(build.edition),
  };
}

/** Grafana's sub-path ('' when served from the root), as `serve_from_sub_path` sets it. */
export function appSubUrl(): string {
  return text(config.appSubUrl).replace(/\/+$/, '');
}

/** The default endpoint: same origin, under Grafana's sub-path, so the session cookie goes along. */
export function resolveEndpoint(option: string): string {
  return option === '' ? `${appSubUrl()}/footfall/v1/metrics` : option;
}

/** Public dashboards are served with an access token and no signed-in user. */
export function isPublicDashboard(): boolean {
  return text((config as unknown as Record<string, unknown>).publicDashboardAccessToken) !== '';
}

/**
 * The dashboard's uid and title through the panel's `replaceVariables`, which both dashboard
 * architectures support (`${__dashboard}` is the title in legacy dashboards and in Scenes). An
 * uninterpolated result means the macro is unknown here; the caller then falls back to the URL.
 */
export function dashboardIdentity(replaceVariables: (text: string) => string): { uid: string; title: string } {
  const read = (expr: string): string => {
    try {
      const value = replaceVariables(expr);
      return typeof value === 'string' && !value.includes('${__dashboard') && !value.includes('$__dashboard')
        ? value
        : '';
    } catch {
      return '';
    }
  };
  return { uid: read('${__dashboard.uid}'), title: read('${__dashboard}') };
}
