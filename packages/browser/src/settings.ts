/**
 * The panel's options, as stored in the dashboard JSON. Every field is optional there: a dashboard
 * saved by an older version of the panel, or written by hand, lacks some of them, so the panel always
 * reads options through `resolveOptions`.
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
  if (typeof n !== 'number' || !Number.isFinite(n)) return fallback;
  return Math.min(max, Math.max(min, n));
}

/** Options with defaults filled in and numbers clamped; never throws, whatever the dashboard JSON holds. */
export function resolveOptions(raw: Partial<FootfallOptions> | null | undefined): FootfallOptions {
  const o = raw ?? {};
  return {
    endpoint: typeof o.endpoint === 'string' ? o.endpoint.trim() : DEFAULT_OPTIONS.endpoint,
    heartbeatIntervalSeconds: bounded(o.heartbeatIntervalSeconds, DEFAULT_OPTIONS.heartbeatIntervalSeconds, LIMITS.heartbeatIntervalSeconds),
    exportIntervalSeconds: bounded(o.exportIntervalSeconds, DEFAULT_OPTIONS.exportIntervalSeconds, LIMITS.exportIntervalSeconds),
    inactivityTimeoutMinutes: bounded(o.inactivityTimeoutMinutes, DEFAULT_OPTIONS.inactivityTimeoutMinutes, LIMITS.inactivityTimeoutMinutes),
    variableAllowList: typeof o.variableAllowList === 'string' ? o.variableAllowList : DEFAULT_OPTIONS.variableAllowList,
    sendIdentity: o.sendIdentity === true,
    debug: o.debug === true,
  };
}
