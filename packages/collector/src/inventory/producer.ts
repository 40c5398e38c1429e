import { ValueType } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { AggregationTemporality, DataPointType, type CollectionResult, type GaugeMetricData, type MetricProducer } from '@opentelemetry/sdk-metrics';
import type { Inventory } from './inventory.js';
import type { DashboardLedger } from './ledger.js';

export const DASHBOARD_INFO = 'footfall_dashboard_info';
export const DASHBOARD_LAST_OPENED = 'footfall_dashboard_last_opened_timestamp_seconds';
export const DASHBOARD_FIRST_SEEN = 'footfall_dashboard_first_seen_timestamp_seconds';

/** Dashboards walked per event-loop turn: a 100,000-entry ledger must not hold intake in one pass. */
const SLICE = 5000;

function gauge(name: string, description: string, unit: string, points: GaugeMetricData['dataPoints']): GaugeMetricData {
  return {
    descriptor: { name, description, unit, valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: points,
  };
}

/**
 * The dashboards as gauges for /metrics: `footfall_dashboard_info` (1 per dashboard the inventory
 * lists, with its name and folder), when each was first listed, and when each was last opened. The
 * two times carry only the uid: names join from the info series, so a rename makes no new series.
 * Several replicas each export them; queries take the latest last-opened and the earliest first-seen time per uid.
 */
export function createDashboardsProducer(inventory: Inventory | undefined, ledger: DashboardLedger): MetricProducer {
  /**
   * Each dashboard's info attributes, kept by its (long-lived) inventory entry: /metrics keeps a
   * series' label text by its attributes object, so a new object per scrape would escape every
   * dashboard's labels again. (The times' attributes are the ledger entry's own `labels`.)
   */
  const infoAttributes = new WeakMap<object, Record<string, string>>();
  return {
    async collect(): Promise<CollectionResult> {
      const time = hrTime();
      const info: GaugeMetricData['dataPoints'] = [];
      const firstSeen: GaugeMetricData['dataPoints'] = [];
      const lastOpened: GaugeMetricData['dataPoints'] = [];
      const listed = inventory?.dashboards();
      for (const [uid, entry] of listed ?? []) {
        let attributes = infoAttributes.get(entry);
        if (attributes?.dashboard_uid !== uid || attributes.dashboard_name !== entry.name || (attributes.dashboard_folder ?? '') !== entry.folder) {
          attributes = { dashboard_uid: uid, dashboard_name: entry.name };
          // An empty label is no label to Prometheus: the General folder has none, as on the usage series.
          if (entry.folder !== '') attributes.dashboard_folder = entry.folder;
          infoAttributes.set(entry, attributes);
        }
        info.push({ attributes, startTime: time, endTime: time, value: 1 });
      }
      // Copied first: a session moves its dashboard to the ledger's end, which a walk that gives the
      // event loop back would then meet twice.
      let walked = 0;
      for (const [uid, entry] of [...ledger.entries()]) {
        if (++walked % SLICE === 0) await nextTurn();
        // With an inventory, only Grafana's dashboards: one deleted (or out of the token's reach) keeps
        // its times for a while, in case it comes back, but no longer shows.
        if (listed && !listed.has(uid)) continue;
        if (entry.lastOpened !== undefined) {
          lastOpened.push({ attributes: entry.labels, startTime: time, endTime: time, value: entry.lastOpened / 1000 });
        }
        if (entry.firstSeen !== undefined && listed) {
          firstSeen.push({ attributes: entry.labels, startTime: time, endTime: time, value: entry.firstSeen / 1000 });
        }
      }
      const metrics: GaugeMetricData[] = [];
      if (inventory) {
        metrics.push(gauge(DASHBOARD_INFO, 'Every dashboard Grafana has (the inventory), with its name and folder; always 1.', '', info));
        metrics.push(
          gauge(DASHBOARD_FIRST_SEEN, 'When the inventory first listed the dashboard, in Unix seconds (kept in the state file).', 's', firstSeen),
        );
      }
      metrics.push(
        gauge(
          DASHBOARD_LAST_OPENED,
          'When a session of the dashboard was last recorded, in Unix seconds (kept in the state file; take max by dashboard_uid across replicas).',
          's',
          lastOpened,
        ),
      );
      return {
        // Readers put producer metrics under their own resource; this one is ignored.
        resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: { name: 'footfall-dashboards' }, metrics: metrics.filter((m) => m.dataPoints.length > 0) }] },
        errors: [],
      };
    },
  };
}
