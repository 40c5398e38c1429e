/**
 * The body macropower-analytics-panel 2.1.0 posted on every beat (start, heartbeat, end: the same
 * shape each time), rebuilt from the field list in shared/reference/seed-system.md §2 for the same
 * user, dashboard, variables and time range the harness gives the footfall panel. It is the baseline
 * of the bytes-per-session-hour figure; values are as the old panel filled them (uuid v4, options
 * echoed whole, `window.location` parts, `buildInfo`, `licenseInfo`, the boot-data user, variables
 * with their current values, Unix-second times).
 */
export interface OldPanelContext {
  readonly hostname: string;
  readonly port: string;
  readonly dashboard: { readonly uid: string; readonly title: string };
  readonly user: Readonly<Record<string, unknown>>;
  readonly buildInfo: Readonly<Record<string, unknown>>;
  readonly variables: ReadonlyArray<{ readonly name: string; readonly values: readonly string[] }>;
  readonly timeRange: { readonly from: string; readonly to: string };
}

export function oldPanelPayload(context: OldPanelContext, type: 'start' | 'heartbeat' | 'end'): string {
  const now = 1_795_000_000;
  const u = context.user;
  return JSON.stringify({
    uuid: '0b7f3b1e-6c0a-4c55-9d3e-2f4a8c1d9e77',
    type,
    hasFocus: true,
    options: {
      server: '/analytics-plugin/write',
      dashboard: '$__dashboard',
      showDetails: false,
      postStart: true,
      postEnd: true,
      postHeartbeat: true,
      heartbeatInterval: 60,
      heartbeatAlways: false,
      flatten: false,
    },
    host: {
      hostname: context.hostname,
      port: context.port,
      protocol: 'http:',
      buildInfo: {
        version: context.buildInfo.version,
        commit: context.buildInfo.commit,
        env: context.buildInfo.env,
        edition: context.buildInfo.edition,
      },
      licenseInfo: { hasLicense: false, expiry: 0, stateInfo: '' },
    },
    dashboard: { name: context.dashboard.title, uid: context.dashboard.uid },
    user: {
      isSignedIn: u.isSignedIn,
      id: u.id,
      login: u.login,
      email: u.email,
      name: u.name,
      lightTheme: u.lightTheme,
      orgCount: u.orgCount,
      orgId: u.orgId,
      orgName: u.orgName,
      orgRole: u.orgRole,
      isGrafanaAdmin: u.isGrafanaAdmin,
      timezone: u.timezone,
      locale: u.language,
      hasEditPermissionInFolders: true,
    },
    variables: context.variables.map((v) => ({
      name: v.name,
      label: v.name,
      type: 'custom',
      multi: v.values.length > 1,
      values: v.values,
    })),
    timeRange: { from: now - 6 * 3600, to: now, raw: { from: context.timeRange.from, to: context.timeRange.to } },
    timeZone: 'browser',
    timeOrigin: now * 1000 - 5_000,
    time: now,
  });
}
