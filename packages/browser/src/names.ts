/**
 * Metric and attribute names come from the collector's catalog, bundled into the panel at build time:
 * one source of truth, so the panel cannot record a name the collector would refuse.
 */
import {
  ABSOLUTE_TIME_RANGE,
  ATTR,
  METRIC_CATALOG,
  PANEL_SCOPE_NAME,
  PANEL_SERVICE_NAME,
  readAttributes,
  type CatalogMetric,
} from '@footfall/collector/catalog';

export { ABSOLUTE_TIME_RANGE, ATTR, METRIC_CATALOG, PANEL_SCOPE_NAME, PANEL_SERVICE_NAME, readAttributes };
export type { CatalogMetric };

/** The catalog's metric names, by what the panel records with each. */
export const METRIC = {
  SESSIONS: 'grafana.dashboard.sessions',
  ENGAGED_TIME: 'grafana.dashboard.engaged_time',
  HEARTBEATS: 'grafana.dashboard.heartbeats',
  SESSION_DURATION: 'grafana.dashboard.session.duration',
  VARIABLE_SELECTIONS: 'grafana.dashboard.variable.selections',
  TIME_RANGE_SELECTIONS: 'grafana.dashboard.time_range.selections',
  QUERIES: 'grafana.dashboard.queries',
  QUERY_ERRORS: 'grafana.dashboard.query.errors',
  QUERY_DURATION: 'grafana.dashboard.query.duration',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** The catalog entry of a metric the panel records; a name missing from the catalog fails at load, in tests. */
export function catalogEntry(name: MetricName): CatalogMetric {
  const entry = METRIC_CATALOG.find((m) => m.name === name);
  if (entry === undefined) {
    throw new Error(`footfall: ${name} is not in the collector's metric catalog`);
  }
  return entry;
}
