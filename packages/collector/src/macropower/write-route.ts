import type { CollectorConfig } from '../config/index.js';
import { unsupportedMediaType } from '../errors.js';
import type { MetricsRequest } from '../decode/index.js';
import type { Sender } from '../pipeline.js';
import {
  createIngestHandler,
  mediaType,
  type IngestFormat,
  type IngestHandler,
  type IngestProtocol,
  type IngestRouteSettings,
} from '../receive/index.js';
import { readPayload } from './payload.js';
import { selectedVariables, timeRangeLabel, type VariablePolicy } from './selections.js';
import { toMetrics } from './to-metrics.js';
import { createWriteSessions, type WriteSessions } from './write-sessions.js';

export interface WriteRouteSettings {
  readonly sessions: WriteSessions;
  readonly variables: VariablePolicy;
  /** Milliseconds since the epoch: the time of a payload that carries none. */
  readonly now: () => number;
}

/**
 * The old panel posts with `fetch(…, { mode: 'no-cors' })`, which drops its JSON Content-Type: bodies
 * arrive as text/plain, or with none from other clients. Anything else is not the panel.
 */
const ACCEPTED_MEDIA_TYPES: ReadonlySet<string> = new Set(['application/json', 'text/plain', '']);

const EMPTY = Buffer.alloc(0);

/** Dashboards the old server skipped: `new` (never saved) and none. */
const UNSAVED: ReadonlySet<string> = new Set(['', 'new']);

/** The key of a session: its sender and its uuid, so no sender can add to another's session. */
function sessionKey(sender: Sender, uuid: string): string | undefined {
  return uuid === '' ? undefined : `${sender.subject ?? ''}\u0000${uuid}`;
}

/**
 * The macropower-analytics-panel's payloads as a route format. Answers as the old server did: 201 with
 * an empty body, whatever was recorded (the panel cannot read the answer anyway); an error as one
 * line of plain text.
 */
export function createWriteProtocol(settings: WriteRouteSettings): IngestProtocol {
  const { sessions, variables: policy, now } = settings;
  /** What each decoded request changed in the session cache, until the pipeline has taken it. */
  const undos = new WeakMap<MetricsRequest, () => void>();
  const format: IngestFormat = {
    label: 'macropower',
    decode(body, sender) {
      const payload = readPayload(body);
      if (UNSAVED.has(payload.dashboard.uid)) {
        return { resources: [] };
      }
      const at = payload.time ?? Math.floor(now() / 1000);
      const outcome = sessions.track(sessionKey(sender, payload.uuid), {
        type: payload.type,
        at,
        heartbeatInterval: payload.heartbeatInterval,
        variables: selectedVariables(payload.variables, policy),
        timeRange: timeRangeLabel(payload.timeRange.from, payload.timeRange.to),
      });
      const request = toMetrics(payload, outcome, at);
      undos.set(request, outcome.undo);
      return request;
    },
    accepted: () => ({ status: 201, body: EMPTY }),
    discarded: (request) => undos.get(request)?.(),
    refused: (error) => ({
      status: error.status,
      contentType: 'text/plain; charset=utf-8',
      body: Buffer.from(`${error.message}\n`),
    }),
  };
  return {
    formatOf: (contentType) =>
      ACCEPTED_MEDIA_TYPES.has(mediaType(contentType))
        ? format
        : unsupportedMediaType(contentType, 'application/json, text/plain or no content type'),
    fallback: format,
    unknownLabel: 'macropower',
    what: 'a MacroPower /write request',
  };
}

/** The `/write` handler: the same sequence as `/v1/metrics`, with the old panel's payloads. */
export function createWriteHandler(route: IngestRouteSettings, settings: WriteRouteSettings): IngestHandler {
  return createIngestHandler(route, createWriteProtocol(settings));
}

/** What a user writes under `legacy.write`. */
export type LegacyWriteConfig = CollectorConfig['legacy']['write'];

/** The `/write` handler as `legacy.write` configures it. */
export function createLegacyWriteHandler(
  route: IngestRouteSettings,
  config: LegacyWriteConfig,
  now: () => number
): IngestHandler {
  const sessions = createWriteSessions({
    maxSessions: config.maxSessions,
    idleMs: config.sessionIdleExpiry,
    maxEvents: config.maxEventsPerSession,
    sessionTimeoutSeconds: config.sessionTimeout / 1000,
    now,
  });
  const allowList = config.variables.allowList;
  const variables: VariablePolicy = {
    allowList: allowList.length === 0 ? undefined : new Set(allowList),
    recordText: config.variables.recordText,
  };
  return createWriteHandler(route, { sessions, variables, now });
}
