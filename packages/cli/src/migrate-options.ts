/**
 * MacroPower's `analyticsOptions` → the footfall panel's options. Only settings with a real
 * counterpart carry over; everything else is reported so the person migrating sees what changed.
 */
import type { JsonObject, JsonValue } from './json-document.js';
import { isObject } from './json-document.js';
import { DEFAULT_PANEL_OPTIONS } from './panel.js';

export interface MigratedOptions {
  /** The footfall panel's options: defaults, with the old values that have a counterpart. */
  readonly options: JsonObject;
  /** One line per old setting that did not carry over, with why. */
  readonly dropped: string[];
}

/** Why each old setting has no counterpart in footfall. */
const NO_COUNTERPART: Record<string, string> = {
  postStart: 'footfall always records the session start',
  postEnd: 'footfall always records the session end, on tab close too',
  postHeartbeat: 'footfall always sends heartbeats while the dashboard is visible',
  heartbeatAlways: 'footfall counts engaged time only while the tab is visible',
  flatten: 'footfall sends OTLP metrics, not the old JSON payload',
  dashboard: 'footfall reads the dashboard name and uid from Grafana itself',
};

const [MIN_HEARTBEAT, MAX_HEARTBEAT] = [1, 3600];

export function migrateOptions(panelOptions: JsonValue | undefined, endpoint?: string): MigratedOptions {
  const options: JsonObject = { ...DEFAULT_PANEL_OPTIONS };
  const dropped: string[] = [];
  if (endpoint !== undefined) {
    options['endpoint'] = endpoint;
  }
  const old =
    isObject(panelOptions) && isObject(panelOptions['analyticsOptions']) ? panelOptions['analyticsOptions'] : {};
  for (const [key, value] of Object.entries(old)) {
    const shown = `${key}=${JSON.stringify(value)}`;
    if (key === 'server') {
      // The old panel posted its own JSON to `/write`; footfall speaks OTLP/HTTP. The collector answers
      // the old `/write` for the time both panels run, but the new panel must not post OTLP there.
      const where =
        endpoint === undefined
          ? "footfall's default endpoint (<Grafana sub-path>/footfall/v1/metrics)"
          : `--endpoint ${endpoint}`;
      dropped.push(`${shown}: the old /write URL is not an OTLP endpoint; the panel uses ${where}`);
    } else if (key === 'heartbeatInterval') {
      const seconds = typeof value === 'string' ? Number(value) : value;
      if (typeof seconds === 'number' && Number.isFinite(seconds)) {
        const bounded = Math.min(MAX_HEARTBEAT, Math.max(MIN_HEARTBEAT, Math.round(seconds)));
        options['heartbeatIntervalSeconds'] = bounded;
        if (bounded !== seconds) {
          dropped.push(`${shown}: out of footfall's range, set to ${bounded}`);
        }
      } else {
        dropped.push(`${shown}: not a number of seconds`);
      }
    } else if (key === 'showDetails') {
      // The old details view showed the last payload; footfall's debug view shows the last export.
      options['debug'] = value === true;
    } else {
      dropped.push(`${shown}: ${NO_COUNTERPART[key] ?? 'no counterpart in footfall'}`);
    }
  }
  return { options, dropped };
}
