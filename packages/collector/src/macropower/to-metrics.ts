import { ATTR, METRIC_CATALOG } from '../aggregate/catalog.js';
import type {
  AttributeList,
  HistogramMetric,
  Metric,
  MetricsRequest,
  NumberPoint,
  SumMetric,
} from '../decode/index.js';
import type { WritePayload } from './payload.js';
import type { SessionOutcome } from './write-sessions.js';

/** service.name of the resource /write payloads are recorded under. */
export const WRITE_SERVICE_NAME = 'macropower-analytics-panel';

const DURATION = METRIC_CATALOG.find((m) => m.name === 'grafana.dashboard.session.duration')!;
const DURATION_BOUNDS = DURATION.buckets ?? [];

/** The role as the browser reports it: the org role, `Anonymous` when signed out, `None` without one. */
export function userRole(user: WritePayload['user']): string {
  return user.isSignedIn === false ? 'Anonymous' : user.orgRole || 'None';
}

function attributes(entries: ReadonlyArray<readonly [string, string]>): AttributeList {
  return entries.filter(([, v]) => v !== '').map(([k, v]) => [k, v]);
}

function sum(name: string, points: NumberPoint[]): SumMetric {
  return { type: 'sum', name, unit: '', temporality: 'delta', monotonic: true, points };
}

/** Bucket counts of one observation, over the catalog's boundaries (a bucket holds (previous bound, bound]). */
function oneObservation(value: number): number[] {
  const counts = new Array<number>(DURATION_BOUNDS.length + 1).fill(0);
  const index = DURATION_BOUNDS.findIndex((bound) => value <= bound);
  counts[index === -1 ? DURATION_BOUNDS.length : index] = 1;
  return counts;
}

/**
 * The points one payload makes, in the browser's terms, so they cross the same stages as an OTLP
 * export: what is the same for the whole page (instance, the viewer's role and preferences) on the
 * resource, the dashboard on each point. Login and name go on the points like the browser's opt-in
 * identity, where the privacy stage drops them unless it is told to keep them; e-mail and user id are
 * never read.
 */
export function toMetrics(payload: WritePayload, outcome: SessionOutcome, at: number): MetricsRequest {
  const { dashboard, grafana, user } = payload;
  const resource = attributes([
    ['service.name', WRITE_SERVICE_NAME],
    [ATTR.GRAFANA_HOST, grafana.host],
    [ATTR.GRAFANA_ENV, grafana.env],
    ['grafana.version', grafana.version],
    ['grafana.edition', grafana.edition],
    [ATTR.USER_ROLE, userRole(user)],
    [ATTR.USER_THEME, user.lightTheme === true ? 'light' : user.lightTheme === false ? 'dark' : ''],
    [ATTR.USER_TIMEZONE, user.timezone],
    [ATTR.USER_LOCALE, user.locale],
  ]);
  const base = attributes([
    [ATTR.DASHBOARD_UID, dashboard.uid],
    [ATTR.DASHBOARD_NAME, dashboard.name],
    [ATTR.DASHBOARD_TIMEZONE, dashboard.timeZone],
    [ATTR.USER_LOGIN, user.login],
    [ATTR.USER_NAME, user.name],
  ]);
  // A count of one happens at the event; seconds lie somewhere between the session's first and last event.
  const once = (extra: AttributeList = []): NumberPoint => ({
    attributes: [...base, ...extra],
    startTime: at,
    time: at,
    noRecordedValue: false,
    value: 1,
  });
  const { window } = outcome;
  const metrics: Metric[] = [];

  if (outcome.started) {
    metrics.push(sum('grafana.dashboard.sessions', [once()]));
  }
  if (payload.type === 'heartbeat') {
    metrics.push(sum('grafana.dashboard.heartbeats', [once()]));
  }
  if (outcome.credited > 0) {
    const state = payload.hasFocus ? 'focused' : 'visible';
    metrics.push(
      sum('grafana.dashboard.engaged_time', [
        {
          attributes: [...base, [ATTR.ENGAGEMENT_STATE, state]],
          startTime: window.start,
          time: window.end,
          noRecordedValue: false,
          value: outcome.credited,
        },
      ])
    );
  }
  if (outcome.endedDuration !== undefined) {
    const histogram: HistogramMetric = {
      type: 'histogram',
      name: DURATION.name,
      unit: '',
      temporality: 'delta',
      points: [
        {
          attributes: base,
          startTime: window.start,
          time: window.end,
          noRecordedValue: false,
          count: 1,
          sum: outcome.endedDuration,
          bucketCounts: oneObservation(outcome.endedDuration),
          explicitBounds: DURATION_BOUNDS,
        },
      ],
    };
    metrics.push(histogram);
  }
  const selections: NumberPoint[] = [];
  for (const [name, values] of outcome.variables) {
    for (const value of values) {
      selections.push(
        once([
          [ATTR.VARIABLE_NAME, name],
          [ATTR.VARIABLE_VALUE, value],
        ])
      );
    }
  }
  if (selections.length > 0) {
    metrics.push(sum('grafana.dashboard.variable.selections', selections));
  }
  if (outcome.timeRange !== '') {
    metrics.push(sum('grafana.dashboard.time_range.selections', [once([[ATTR.TIME_RANGE, outcome.timeRange]])]));
  }
  return { resources: metrics.length === 0 ? [] : [{ attributes: resource, metrics }] };
}
