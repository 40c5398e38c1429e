/**
 * Grafana's Echo `meta-analytics` events as machine events: `dashboard-view` names a dashboard (its
 * uid, title and folder), `data-request` is one panel's queries (and names its dashboard too).
 */
import { text } from '../grafana-context.ts';
import type { MachineEvent } from '../machine.ts';

/** A Grafana Echo event, as far as footfall reads it. */
export interface EchoEventLike {
  readonly type?: unknown;
  readonly payload?: unknown;
}

/** Apps whose queries are not a dashboard's: Explore and alerting run their own. */
const NON_DASHBOARD_SOURCES = new Set(['explore', 'correlations', 'alerting', 'unified-alerting', 'cloud-alerting']);

function payloadOf(event: EchoEventLike): Record<string, unknown> {
  return (typeof event.payload === 'object' && event.payload !== null ? event.payload : {}) as Record<string, unknown>;
}

export function echoEvents(event: EchoEventLike, at: number): MachineEvent[] {
  if (event.type !== 'meta-analytics') {
    return [];
  }
  const payload = payloadOf(event);
  const uid = text(payload.dashboardUid);
  if (payload.eventName === 'dashboard-view') {
    if (uid === '') {
      return [];
    }
    return [
      {
        type: 'identity',
        at,
        uid,
        identity: { title: text(payload.dashboardName), folder: text(payload.folderName) },
        fromView: true,
      },
    ];
  }
  if (payload.eventName !== 'data-request' || NON_DASHBOARD_SOURCES.has(text(payload.source))) {
    return [];
  }
  const events: MachineEvent[] = [];
  // Every query event names its dashboard's folder too (Grafana 11.6+): enough to identify a session
  // whose `dashboard-view` fired before footfall was loaded.
  if (uid !== '' && typeof payload.folderName === 'string') {
    events.push({
      type: 'identity',
      at,
      uid,
      identity: { title: text(payload.dashboardName), folder: payload.folderName },
      fromView: false,
    });
  }
  const ms = typeof payload.duration === 'number' ? payload.duration : Number.NaN;
  const total =
    typeof payload.totalQueries === 'number' && Number.isFinite(payload.totalQueries) ? payload.totalQueries : 1;
  events.push({
    type: 'query',
    at,
    uid,
    queries: total,
    failed: payload.error !== undefined && payload.error !== null && payload.error !== '',
    datasourceType: text(payload.datasourceType),
    // Grafana reports milliseconds (request end minus start); the catalog's unit is seconds.
    durationSeconds: Number.isFinite(ms) && ms >= 0 ? ms / 1000 : undefined,
  });
  return events;
}
