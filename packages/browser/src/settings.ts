/**
 * footfall's settings: the app's `jsonData` (its configuration page, or provisioning) and the panel's
 * options in the dashboard JSON. Every field is optional there: settings saved by an older version,
 * or written by hand, lack some of them, so both always read them through `resolveOptions`.
 */
export interface FootfallOptions {
  /** Where to send OTLP/HTTP metrics. Empty: `<appSubUrl>/footfall/v1/metrics` on Grafana's own origin. */
  endpoint: string;
  /** Seconds between heartbeats while the dashboard is on screen. */
  heartbeatIntervalSeconds: number;
  /**
   * Seconds between exports; pending counts are also sent when the tab is hidden or closed. Longer than
   * the heartbeat on purpose: DELTA counts add up in the browser, so five heartbeats cost one request.
   */
  exportIntervalSeconds: number;
  /** Minutes a hidden tab keeps its session; also how long a reload may take and still resume it. */
  inactivityTimeoutMinutes: number;
  /** Comma-separated template variable names to record; empty records every variable. */
  variableAllowList: string;
  /** Record constants and text boxes too (off: their values are free text, possibly personal). */
  recordTextVariables: boolean;
  /** Record variables hidden from the dashboard (off: the user did not choose them). */
  recordHiddenVariables: boolean;
  /** Send the user's login and name. Off by default: the collector learns who is there from Grafana's session. */
  sendIdentity: boolean;
  /** Show the last export, the last error and the session id instead of rendering nothing. */
  debug: boolean;
}

export const DEFAULT_OPTIONS: FootfallOptions = {
  endpoint: '',
  heartbeatIntervalSeconds: 60,
  exportIntervalSeconds: 300,
  inactivityTimeoutMinutes: 30,
  variableAllowList: '',
  recordTextVariables: false,
  recordHiddenVariables: false,
  sendIdentity: false,
  debug: false,
};

/** Bounds that keep a mistyped option from hammering the collector or never reporting. */
const LIMITS = {
  heartbeatIntervalSeconds: [1, 3600],
  exportIntervalSeconds: [1, 3600],
  inactivityTimeoutMinutes: [1, 24 * 60],
} as const;

function bounded(value: unknown, fallback: number, [min, max]: readonly [number, number]): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    return fallback;
  }
  return Math.min(max, Math.max(min, n));
}

/** Options with defaults filled in and numbers clamped; never throws, whatever the dashboard JSON holds. */
export function resolveOptions(raw: Partial<FootfallOptions> | null | undefined): FootfallOptions {
  const o = raw ?? {};
  return {
    endpoint: typeof o.endpoint === 'string' ? o.endpoint.trim() : DEFAULT_OPTIONS.endpoint,
    heartbeatIntervalSeconds: bounded(
      o.heartbeatIntervalSeconds,
      DEFAULT_OPTIONS.heartbeatIntervalSeconds,
      LIMITS.heartbeatIntervalSeconds
    ),
    exportIntervalSeconds: bounded(
      o.exportIntervalSeconds,
      DEFAULT_OPTIONS.exportIntervalSeconds,
      LIMITS.exportIntervalSeconds
    ),
    inactivityTimeoutMinutes: bounded(
      o.inactivityTimeoutMinutes,
      DEFAULT_OPTIONS.inactivityTimeoutMinutes,
      LIMITS.inactivityTimeoutMinutes
    ),
    variableAllowList:
      typeof o.variableAllowList === 'string' ? o.variableAllowList : DEFAULT_OPTIONS.variableAllowList,
    recordTextVariables: o.recordTextVariables === true,
    recordHiddenVariables: o.recordHiddenVariables === true,
    sendIdentity: o.sendIdentity === true,
    debug: o.debug === true,
  };
}

/** Each setting's name and help, shared by the app's configuration page and the panel's option editor. */
export const SETTINGS_HELP: Readonly<
  Record<keyof FootfallOptions, { readonly name: string; readonly description: string }>
> = {
  endpoint: {
    name: 'Endpoint',
    description:
      'OTLP/HTTP metrics URL. Empty: <Grafana sub-path>/footfall/v1/metrics on this origin, so the session cookie goes along.',
  },
  heartbeatIntervalSeconds: {
    name: 'Heartbeat interval (s)',
    description: 'How often an open, visible dashboard reports that it is still being looked at.',
  },
  exportIntervalSeconds: {
    name: 'Export interval (s)',
    description: 'How often counts are sent. They are also sent when the tab is hidden or closed.',
  },
  inactivityTimeoutMinutes: {
    name: 'Inactivity timeout (min)',
    description: 'A tab hidden this long ends its session; a reload within it resumes the session.',
  },
  variableAllowList: {
    name: 'Variables to record',
    description:
      'Comma-separated variable names. Empty records every variable. Ad-hoc filters are recorded by key only.',
  },
  recordTextVariables: {
    name: 'Record constants and text boxes',
    description: 'Off by default: their values are free text, which may be personal.',
  },
  recordHiddenVariables: {
    name: 'Record hidden variables',
    description: 'Off by default: a variable hidden from the dashboard is not a choice the user made.',
  },
  sendIdentity: {
    name: 'Send login and name',
    description: 'Off by default. Turn on only where the collector cannot learn the user from Grafana’s session.',
  },
  debug: {
    name: 'Debug',
    description: 'Show the session id, the last export and the last error in the panel.',
  },
};
