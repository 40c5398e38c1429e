/**
 * `window.grafanaBootData` as Grafana's index page writes it for a signed-in user, for the Grafana
 * version of a shared-module set. Only the fields a plugin can read through `config` are filled.
 */
import { installedVersion, type SharedModuleSet } from './shared-module-sets.ts';

/** Fields to replace in `settings` and `user` for one page (a shallow merge of each). */
export interface BootDataPatch {
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly user?: Readonly<Record<string, unknown>>;
}

export interface BootData {
  readonly settings: Record<string, unknown>;
  readonly user: Record<string, unknown>;
  readonly navTree: readonly unknown[];
}

export const APP_SUB_URL = '/grafana';

/**
 * `origin` is the page's own, e.g. `http://127.0.0.1:41234`; `apps` are the boot data's
 * `settings.apps` entries (AppPluginConfig), keyed by plugin id, which the app preloader reads.
 */
export function defaultBootData(set: SharedModuleSet, origin: string, apps: Record<string, unknown> = {}): BootData {
  const version = installedVersion(set, '@grafana/data');
  const appUrl = `${origin}${APP_SUB_URL}/`;
  const commit = '5f1ad0d5c0ffee5eed5f1ad0d5c0ffee5eed5f1a';
  const user: Record<string, unknown> = {
    isSignedIn: true,
    id: 42,
    uid: 'fe2kq9alice42',
    externalUserId: '',
    login: 'alice',
    email: 'alice@example.com',
    name: 'Alice Example',
    theme: 'dark',
    orgCount: 1,
    orgId: 1,
    orgName: 'Main Org.',
    orgRole: 'Editor',
    isGrafanaAdmin: false,
    gravatarUrl: `${APP_SUB_URL}/avatar/c160f8cc69a4f0bf2b0362752353d060`,
    timezone: 'browser',
    weekStart: 'browser',
    language: 'en-US',
    // The user's date format locale: `locale` up to 12.0, renamed `regionalFormat` in 12.1, gone in 13.1.
    ...(set.name === 'grafana-11' ? { locale: 'en-US' } : {}),
    ...(set.name === 'grafana-12' ? { regionalFormat: 'en-US' } : {}),
    permissions: {},
    analytics: { identifier: `alice@example.com@${appUrl}` },
    authenticatedBy: 'password',
    lightTheme: false,
  };
  return {
    settings: {
      appUrl,
      appSubUrl: APP_SUB_URL,
      buildInfo: {
        version,
        versionString: `Grafana v${version} (${commit.slice(0, 10)})`,
        buildstamp: 1_763_000_000,
        commit,
        commitShort: commit.slice(0, 10),
        env: 'production',
        edition: 'Open Source',
        latestVersion: version,
        hasUpdate: false,
        hideVersion: false,
      },
      // @grafana/ui reads feature toggles while it is imported.
      featureToggles: {},
      // Every installed app, `preload` true only for those enabled in the user's org.
      apps,
    },
    user,
    navTree: [],
  };
}
