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
  /** The dashboard's folder title ("" or absent for the General folder). */
  DASHBOARD_FOLDER: 'dashboard.folder',
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
 * Counters and histograms only: with hundreds of browsers writing one series, a gauge's last value
 * would say nothing.
 */
export type InstrumentKind = 'counter' | 'histogram';

/**
 * The most one data point may add to one series: `perPoint + perSecond × window`, where the window is
 * the point's own aggregation window (time − start time, at most MAX_POINT_WINDOW_SECONDS). For a
 * histogram it bounds the point's count. The figures are for one browser tab; senders that aggregate
 * many browsers (bearer tokens: another collector forwarding) get them multiplied by
 * `limits.bearerIncrementFactor`.
 */
export interface IncrementBound {
  readonly perPoint: number;
  readonly perSecond: number;
}

/**
 * A point's window counts towards its bound up to this long. A browser keeps unsent counts across an
 * outage and merges them, with the earliest start time, so a window can be long; not this long.
 */
export const MAX_POINT_WINDOW_SECONDS = 31 * 24 * 3600;

/** A second series derived from the same points: fewer labels, or a subset of the points. */
export interface DerivedSeries {
  /** The Prometheus family name in /metrics. */
  readonly prometheus: string;
  readonly description: string;
  /**
   * The attributes it keeps. For a legacy series these are the ones the configuration may choose from
   * (`legacy.labels`); the series keeps the chosen ones.
   */
  readonly attributes: readonly string[];
  /** Kept for users of the old macropower-analytics-panel server: same name, same label names. */
  readonly legacy?: boolean;
  /** Only points whose attribute has one of these values count towards it. */
  readonly when?: { readonly attribute: string; readonly values: readonly string[] };
}

export interface CatalogMetric {
  /** OTel instrument name, as the panel records it. */
  readonly name: string;
  readonly kind: InstrumentKind;
  readonly unit: string;
  readonly description: string;
  /** The attributes the metric's own series keep; any other attribute on a point is dropped. */
  readonly attributes: readonly string[];
  /**
   * Attributes of the old server's series that this metric keeps too when `legacy.labels` names them
   * (only the metric whose name is a legacy series has any).
   */
  readonly legacyAttributes?: readonly string[];
  /** The Prometheus family name in /metrics (histograms add _bucket, _sum and _count). */
  readonly prometheus: string;
  /** Explicit histogram bucket boundaries; the panel records with exactly these. */
  readonly buckets?: readonly number[];
  /** The most one point may add (a counter's value, a histogram's count). */
  readonly increment: IncrementBound;
  /** Histograms: the largest plausible observation; a point's sum may be at most count × this. */
  readonly maxObservation?: number;
  /** Series derived from the same points. */
  readonly derived?: readonly DerivedSeries[];
}

const GRAFANA = [ATTR.GRAFANA_HOST, ATTR.GRAFANA_ENV] as const;
const DASHBOARD = [ATTR.DASHBOARD_UID, ATTR.DASHBOARD_NAME, ATTR.DASHBOARD_FOLDER] as const;
/** The lean label set of the per-dashboard usage metrics: the dashboard, the instance and the viewer's org role. */
const DASHBOARD_USAGE = [...DASHBOARD, ...GRAFANA, ATTR.USER_ROLE, ATTR.USER_HASH] as const;

/** Every label the old server's two series had: the names `legacy.labels` may choose from. */
export const LEGACY_LABELS = [
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

/**
 * What the legacy series fill by default: what the old server's example dashboards group by
 * (dashboard_name, user_name), the dashboard's uid, the instance and the role. Personal labels stay
 * empty unless the privacy policy lets them through.
 */
export const DEFAULT_LEGACY_LABELS: readonly string[] = [
  ATTR.DASHBOARD_UID,
  ATTR.DASHBOARD_NAME,
  ATTR.GRAFANA_HOST,
  ATTR.GRAFANA_ENV,
  ATTR.USER_ROLE,
  ATTR.USER_LOGIN,
  ATTR.USER_NAME,
];

/** Seconds in a day: the longest plausible query is one, the longest session 31. */
const DAY = 24 * 3600;

export const METRIC_CATALOG: readonly CatalogMetric[] = [
  {
    name: 'grafana.dashboard.sessions',
    kind: 'counter',
    unit: '{session}',
    description: 'Dashboard sessions started (one per browser tab per dashboard).',
    attributes: DASHBOARD_USAGE,
    legacyAttributes: LEGACY_LABELS,
    prometheus: 'grafana_analytics_sessions_total',
    increment: { perPoint: 20, perSecond: 1 },
    derived: [
      {
        prometheus: 'footfall_sessions_by_preferences_total',
        description:
          "Dashboard sessions by the viewer's Grafana preferences (theme, time zone, locale) and role, for the whole instance: no dashboard labels.",
        attributes: [...GRAFANA, ATTR.USER_ROLE, ATTR.USER_THEME, ATTR.USER_TIMEZONE, ATTR.USER_LOCALE],
      },
    ],
  },
  {
    name: 'grafana.dashboard.engaged_time',
    kind: 'counter',
    unit: 's',
    description: 'Seconds a dashboard was open, by engagement state (focused, visible, hidden).',
    attributes: [...DASHBOARD_USAGE, ATTR.ENGAGEMENT_STATE],
    prometheus: 'footfall_dashboard_engaged_seconds_total',
    // A tab credits its seconds at least once per heartbeat (at most an hour apart): a point holds its
    // window plus at most one such span begun before it.
    increment: { perPoint: 3600, perSecond: 1 },
    derived: [
      {
        prometheus: 'grafana_analytics_sessions_duration_seconds_total',
        description:
          'Seconds a dashboard was on screen (focused or visible). Series kept from the macropower-analytics-panel server.',
        attributes: LEGACY_LABELS,
        legacy: true,
        when: { attribute: ATTR.ENGAGEMENT_STATE, values: ['focused', 'visible'] },
      },
    ],
  },
  {
    name: 'grafana.dashboard.heartbeats',
    kind: 'counter',
    unit: '{heartbeat}',
    description: 'Heartbeats from open dashboards; rate() gives the number of viewers now.',
    attributes: DASHBOARD_USAGE,
    prometheus: 'footfall_dashboard_heartbeats_total',
    increment: { perPoint: 10, perSecond: 1 },
  },
  {
    name: 'grafana.dashboard.session.duration',
    kind: 'histogram',
    unit: 's',
    description: 'Length of dashboard sessions, recorded when a session ends.',
    attributes: [...DASHBOARD, ...GRAFANA],
    prometheus: 'footfall_dashboard_session_duration_seconds',
    buckets: [10, 30, 60, 300, 600, 1800, 3600, 7200, 14400, 28800],
    increment: { perPoint: 20, perSecond: 1 },
    maxObservation: 31 * DAY,
  },
  {
    name: 'grafana.dashboard.variable.selections',
    kind: 'counter',
    unit: '{selection}',
    description: 'Template variable values chosen on a dashboard.',
    attributes: [...DASHBOARD, ...GRAFANA, ATTR.VARIABLE_NAME, ATTR.VARIABLE_VALUE],
    prometheus: 'footfall_dashboard_variable_selections_total',
    increment: { perPoint: 100, perSecond: 1 },
  },
  {
    name: 'grafana.dashboard.time_range.selections',
    kind: 'counter',
    unit: '{selection}',
    description: 'Time ranges chosen on a dashboard: the relative range (now-6h) or "absolute".',
    attributes: [...DASHBOARD, ...GRAFANA, ATTR.TIME_RANGE],
    prometheus: 'footfall_dashboard_time_range_selections_total',
    increment: { perPoint: 100, perSecond: 1 },
  },
  {
    name: 'grafana.dashboard.queries',
    kind: 'counter',
    unit: '{query}',
    description: "Data requests made by a dashboard's panels (Grafana's data-request events).",
    attributes: [...DASHBOARD, ...GRAFANA, ATTR.DATASOURCE_TYPE],
    prometheus: 'footfall_dashboard_queries_total',
    // A wall of a hundred panels refreshing every five seconds makes 20 a second.
    increment: { perPoint: 10_000, perSecond: 100 },
  },
  {
    name: 'grafana.dashboard.query.errors',
    kind: 'counter',
    unit: '{query}',
    description: "Data requests of a dashboard's panels that failed.",
    attributes: [...DASHBOARD, ...GRAFANA, ATTR.DATASOURCE_TYPE],
    prometheus: 'footfall_dashboard_query_errors_total',
    increment: { perPoint: 10_000, perSecond: 100 },
  },
  {
    name: 'grafana.dashboard.query.duration',
    kind: 'histogram',
    unit: 's',
    description: "Duration of a dashboard's data requests.",
    attributes: [...DASHBOARD, ...GRAFANA],
    prometheus: 'footfall_dashboard_query_duration_seconds',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    increment: { perPoint: 10_000, perSecond: 100 },
    maxObservation: DAY,
  },
];

/**
 * Every attribute the collector may read from a metric's points: its own, the legacy ones it may keep,
 * and those of its derived series. What a sender should put on each point (or on the resource).
 */
export function readAttributes(metric: CatalogMetric): readonly string[] {
  return [
    ...new Set([
      ...metric.attributes,
      ...(metric.legacyAttributes ?? []),
      ...(metric.derived ?? []).flatMap((d) => d.attributes),
    ]),
  ];
}
