/**
 * The metric catalog: the contract between the panel (which records these instruments in the browser)
 * and the collector (which accepts only these and exposes them to Prometheus). Pure data with no
 * imports, so the panel can import it too; docs/metrics.md describes the same table for people, and a
 * test checks that the two agree.
 */

/** Who the panel says it is: `service.name` on its resource, and the name of its meter (the OTLP scope). */
export const PANEL_SERVICE_NAME = 'grafana-footfall-panel';
export const PANEL_SCOPE_NAME = 'footfall-panel';

/** Attribute keys, OTel style. The collector turns each into a Prometheus label (`.` → `_`). */
export const ATTR = {
  DASHBOARD_UID: 'dashboard.uid',
  DASHBOARD_NAME: 'dashboard.name',
  DASHBOARD_TIMEZONE: 'dashboard.timezone',
  GRAFANA_HOST: 'grafana.host',
  GRAFANA_ENV: 'grafana.env',
  USER_ROLE: 'user.role',
  USER_THEME: 'user.theme',
  USER_TIMEZONE: 'user.timezone',
  USER_LOCALE: 'user.locale',
  /** Personal: dropped by the default privacy policy. */
  USER_LOGIN: 'user.login',
  /** Personal: dropped by the default privacy policy. */
  USER_NAME: 'user.name',
  /** Made by the collector's keyed-hash policy only; never taken from a client. */
  USER_HASH: 'user.hash',
  ENGAGEMENT_STATE: 'engagement.state',
  VARIABLE_NAME: 'variable.name',
  VARIABLE_VALUE: 'variable.value',
  TIME_RANGE: 'time_range',
  DATASOURCE_TYPE: 'datasource.type',
} as const;

/** Values of `engagement.state`. */
export const ENGAGEMENT_STATES = ['focused', 'visible', 'hidden'] as const;

/** `time_range` for a range that is not relative to now. */
export const ABSOLUTE_TIME_RANGE = 'absolute';

/**
 * `gauge` is supported (last value wins) but no catalog metric uses it: with hundreds of browsers
 * writing one series, a last value says nothing, so the panel's data is all counters and histograms.
 */
export type InstrumentKind = 'counter' | 'gauge' | 'histogram';

export interface LegacySeries {
  /** The series name the old macropower-analytics-panel server exposed. */
  readonly prometheus: string;
  readonly attributes: readonly string[];
  /** Only points whose attribute has one of these values count towards the legacy series. */
  readonly when?: { readonly attribute: string; readonly values: readonly string[] };
}

export interface CatalogMetric {
  /** OTel instrument name, as the panel records it. */
  readonly name: string;
  readonly kind: InstrumentKind;
  readonly unit: string;
  readonly description: string;
  /** The attributes the collector keeps; any other attribute on a point is dropped. */
  readonly attributes: readonly string[];
  /** The Prometheus family name in /metrics (histograms add _bucket, _sum and _count). */
  readonly prometheus: string;
  /** Explicit histogram bucket boundaries; the panel records with exactly these. */
  readonly buckets?: readonly number[];
  /** A second series kept for users of the old server, derived from the same points. */
  readonly legacy?: LegacySeries;
}

const GRAFANA = [ATTR.GRAFANA_HOST, ATTR.GRAFANA_ENV] as const;
const DASHBOARD = [ATTR.DASHBOARD_UID, ATTR.DASHBOARD_NAME] as const;
const LEGACY_LABELS = [
  ATTR.DASHBOARD_UID,
  ATTR.DASHBOARD_NAME,
  ATTR.DASHBOARD_TIMEZONE,
  ATTR.GRAFANA_HOST,
  ATTR.GRAFANA_ENV,
  ATTR.USER_ROLE,
  ATTR.USER_THEME,
  ATTR.USER_TIMEZONE,
  ATTR.USER_LOCALE,
  ATTR.USER_LOGIN,
  ATTR.USER_NAME,
] as const;

export const METRIC_CATALOG: readonly CatalogMetric[] = [
  {
    name: 'grafana.dashboard.sessions',
    kind: 'counter',
    unit: '{session}',
    description: 'Dashboard sessions started (one per browser tab per dashboard).',
    attributes: [...LEGACY_LABELS, ATTR.USER_HASH],
    prometheus: 'grafana_analytics_sessions_total',
  },
  {
    name: 'grafana.dashboard.engaged_time',
    kind: 'counter',
    unit: 's',
    description: 'Seconds a dashboard was open, by engagement state (focused, visible, hidden).',
    attributes: [...LEGACY_LABELS, ATTR.USER_HASH, ATTR.ENGAGEMENT_STATE],
    prometheus: 'footfall_dashboard_engaged_seconds_total',
    legacy: {
      prometheus: 'grafana_analytics_sessions_duration_seconds_total',
      attributes: LEGACY_LABELS,
      when: { attribute: ATTR.ENGAGEMENT_STATE, values: ['focused', 'visible'] },
    },
  },
  {
    name: 'grafana.dashboard.heartbeats',
    kind: 'counter',
    unit: '{heartbeat}',
    description: 'Heartbeats from open dashboards; rate() gives the number of viewers now.',
    attributes: [...DASHBOARD, ...GRAFANA, ATTR.USER_ROLE],
    prometheus: 'footfall_dashboard_heartbeats_total',
  },
  {
    name: 'grafana.dashboard.session.duration',
    kind: 'histogram',
    unit: 's',
    description: 'Length of dashboard sessions, recorded when a session ends.',
    attributes: [...DASHBOARD, ...GRAFANA, ATTR.USER_ROLE],
    prometheus: 'footfall_dashboard_session_duration_seconds',
    buckets: [10, 30, 60, 300, 600, 1800, 3600, 7200, 14400, 28800],
  },
  {
    name: 'grafana.dashboard.variable.selections',
    kind: 'counter',
    unit: '{selection}',
    description: 'Template variable values chosen on a dashboard.',
    attributes: [...DASHBOARD, ...GRAFANA, ATTR.VARIABLE_NAME, ATTR.VARIABLE_VALUE],
    prometheus: 'footfall_dashboard_variable_selections_total',
  },
  {
    name: 'grafana.dashboard.time_range.selections',
    kind: 'counter',
    unit: '{selection}',
    description: 'Time ranges chosen on a dashboard: the relative range (now-6h) or "absolute".',
    attributes: [...DASHBOARD, ...GRAFANA, ATTR.TIME_RANGE],
    prometheus: 'footfall_dashboard_time_range_selections_total',
  },
  {
    name: 'grafana.dashboard.queries',
    kind: 'counter',
    unit: '{query}',
    description: "Data requests made by a dashboard's panels (Grafana's data-request events).",
    attributes: [...DASHBOARD, ...GRAFANA, ATTR.DATASOURCE_TYPE],
    prometheus: 'footfall_dashboard_queries_total',
  },
  {
    name: 'grafana.dashboard.query.errors',
    kind: 'counter',
    unit: '{query}',
    description: "Data requests of a dashboard's panels that failed.",
    attributes: [...DASHBOARD, ...GRAFANA, ATTR.DATASOURCE_TYPE],
    prometheus: 'footfall_dashboard_query_errors_total',
  },
  {
    name: 'grafana.dashboard.query.duration',
    kind: 'histogram',
    unit: 's',
    description: "Duration of a dashboard's data requests.",
    attributes: [...DASHBOARD, ...GRAFANA, ATTR.DATASOURCE_TYPE],
    prometheus: 'footfall_dashboard_query_duration_seconds',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  },
];
