import { ValueType, type HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type GaugeMetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { Inventory } from './inventory.js';
import type { DashboardLedger, LedgerEntry } from './ledger.js';

export const DASHBOARD_INFO = 'footfall_dashboard_info';
export const DASHBOARD_LAST_OPENED = 'footfall_dashboard_last_opened_timestamp_seconds';
export const DASHBOARD_FIRST_SEEN = 'footfall_dashboard_first_seen_timestamp_seconds';

/** Dashboards walked per event-loop turn. */
const SLICE = 5000;

function gauge(
  name: string,
  description: string,
  unit: string,
  points: GaugeMetricData['dataPoints']
): GaugeMetricData {
  return {
    descriptor: { name, description, unit, valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: points,
  };
}

/** The kept point while it still says `at` (ms), else a new one taken at `time`. */
function gaugePoint(
  kept: DataPoint<number> | undefined,
  entry: LedgerEntry,
  at: number,
  time: HrTime
): DataPoint<number> {
  const value = at / 1000;
  return kept?.value === value ? kept : { attributes: entry.labels, startTime: time, endTime: time, value };
}

/**
 * The dashboards as gauges for /metrics: `footfall_dashboard_info` (1 per dashboard the inventory
 * lists, with its name and folder), when each was first listed, and when each was last opened. The
 * two times carry only the uid: names join from the info series, so a rename makes no new series.
 * Several replicas each export them; queries take the latest last-opened and the earliest first-seen time per uid.
 */
export function createDashboardsProducer(inventory: Inventory | undefined, ledger: DashboardLedger): MetricProducer {
  /**
   * Each dashboard's info point, kept by its (long-lived) inventory entry while its name and folder
   * stay: /metrics keeps a series' label text by its attributes object, so a new object per scrape
   * would escape every dashboard's labels again. (The times' attributes are the ledger entry's own `labels`.)
   */
  const infoPoints = new WeakMap<object, DataPoint<number>>();
  return {
    async collect(): Promise<CollectionResult> {
      const time = hrTime();
      const info: GaugeMetricData['dataPoints'] = [];
      const firstSeen: GaugeMetricData['dataPoints'] = [];
      const lastOpened: GaugeMetricData['dataPoints'] = [];
      const listed = inventory?.dashboards();
      for (const [uid, entry] of listed ?? []) {
        let point = infoPoints.get(entry);
        const kept = point?.attributes;
        if (
          kept?.dashboard_uid !== uid ||
          kept.dashboard_name !== entry.name ||
          (kept.dashboard_folder ?? '') !== entry.folder
        ) {
          const attributes: Record<string, string> = { dashboard_uid: uid, dashboard_name: entry.name };
          // An empty label is no label to Prometheus: the General folder has none, as on the usage series.
          if (entry.folder !== '') {
            attributes.dashboard_folder = entry.folder;
          }
          infoPoints.set(entry, (point = { attributes, startTime: time, endTime: time, value: 1 }));
        }
        info.push(point!);
      }
      // A slice per turn, so 100,000 dashboards do not hold intake in one pass. A session meanwhile
      // moves its dashboard to the ledger's end, where the walk meets it again: the collection's
      // token on the entry keeps it to one sample (two of one series make a page Prometheus refuses).
      // Each point is kept on its entry while the time stays (a gauge's point is when its value was
      // taken), so a scrape makes only the points that changed.
      const walk = {};
      let walked = 0;
      for (const [uid, entry] of ledger.entries()) {
        if (++walked % SLICE === 0) {
          await nextTurn();
        }
        if (entry.walk === walk) {
          continue;
        }
        entry.walk = walk;
        // With an inventory, only Grafana's dashboards: one deleted (or out of the token's reach) keeps
        // its times for a while, in case it comes back, but no longer shows.
        if (listed && !listed.has(uid)) {
          continue;
        }
        if (entry.lastOpened !== undefined) {
          lastOpened.push((entry.lastOpenedPoint = gaugePoint(entry.lastOpenedPoint, entry, entry.lastOpened, time)));
        }
        if (entry.firstSeen !== undefined && listed) {
          firstSeen.push((entry.firstSeenPoint = gaugePoint(entry.firstSeenPoint, entry, entry.firstSeen, time)));
        }
      }
      const metrics: GaugeMetricData[] = [];
      if (inventory) {
        metrics.push(
          gauge(
            DASHBOARD_INFO,
            'Every dashboard Grafana has (the inventory), with its name and folder; always 1.',
            '',
            info
          )
        );
        metrics.push(
          gauge(
            DASHBOARD_FIRST_SEEN,
            'When the inventory first listed the dashboard, in Unix seconds (kept in the state file).',
            's',
            firstSeen
          )
        );
      }
      metrics.push(
        gauge(
          DASHBOARD_LAST_OPENED,
          'When a session of the dashboard was last recorded, in Unix seconds (kept in the state file; take max by dashboard_uid across replicas).',
          's',
          lastOpened
        )
      );
      return {
        // Readers put producer metrics under their own resource; this one is ignored.
        resourceMetrics: {
          resource: emptyResource(),
          scopeMetrics: [
            { scope: { name: 'footfall-dashboards' }, metrics: metrics.filter((m) => m.dataPoints.length > 0) },
          ],
        },
        errors: [],
      };
    },
  };
}
