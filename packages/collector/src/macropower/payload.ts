import { malformedBody } from '../errors.js';
import { fieldsOf, listOf, unflatten } from './flat-keys.js';

/**
 * What footfall reads of a macropower-analytics-panel 2.x payload (`start`, `heartbeat` or `end`). The
 * panel sends the same shape for every type; fields of the wrong type read as missing, because the
 * panel built them from Grafana objects that changed between versions, and the old server ignored
 * what it did not know. Only a body that cannot be a payload at all is refused.
 */
export interface WritePayload {
  readonly uuid: string;
  readonly type: WriteEventType;
  readonly hasFocus: boolean;
  /** `options.heartbeatInterval` in seconds; undefined when missing or not a positive number. */
  readonly heartbeatInterval: number | undefined;
  /** `time`: the client's clock in seconds since the epoch; undefined when missing or not a positive number. */
  readonly time: number | undefined;
  readonly dashboard: { readonly uid: string; readonly name: string; readonly timeZone: string };
  readonly grafana: { readonly host: string; readonly env: string; readonly version: string; readonly edition: string };
  readonly user: PayloadUser;
  readonly variables: readonly PayloadVariable[];
  /** `timeRange.raw`: strings such as `now-6h`, or whatever an absolute range became in JSON. */
  readonly timeRange: { readonly from: unknown; readonly to: unknown };
}

export type WriteEventType = 'start' | 'heartbeat' | 'end';

export interface PayloadUser {
  readonly isSignedIn: boolean | undefined;
  readonly orgRole: string;
  readonly lightTheme: boolean | undefined;
  readonly timezone: string;
  readonly locale: string;
  /** Personal: only ever an attribute the privacy stage drops by default. */
  readonly login: string;
  /** Personal: only ever an attribute the privacy stage drops by default. */
  readonly name: string;
}

export interface PayloadVariable {
  readonly name: string;
  readonly type: string;
  /** As sent: the panel meant strings, but a variable's value can be anything Grafana held. */
  readonly values: readonly unknown[];
}

const EVENT_TYPES: ReadonlySet<string> = new Set<WriteEventType>(['start', 'heartbeat', 'end']);

/** A uuidv4 is 36 characters; anything much longer is not the panel's and would only cost memory. */
export const MAX_UUID_LENGTH = 128;

const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const flag = (value: unknown): boolean | undefined => (typeof value === 'boolean' ? value : undefined);
const positive = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;

/**
 * Reads a /write body: JSON, plain or flattened (the panel's `flatten` option). Throws a 400
 * RequestError whose message names what is wrong and never repeats a value from the body (JSON.parse's
 * own messages quote the text around the error, so they are not passed on).
 */
export function readPayload(body: Buffer): WritePayload {
  const source = body.toString('utf8');
  if (source.trim() === '') {
    throw malformedBody('the body is empty: expected a MacroPower panel payload (JSON)');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch {
    throw malformedBody('the body is not valid JSON: expected a MacroPower panel payload');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw malformedBody('the body is not a JSON object: expected a MacroPower panel payload');
  }
  const root = unflatten(parsed as Record<string, unknown>);
  const type = root.type;
  if (type === undefined || type === '') {
    throw malformedBody('type is missing: expected start, heartbeat or end');
  }
  if (typeof type !== 'string' || !EVENT_TYPES.has(type)) {
    throw malformedBody('type is not start, heartbeat or end');
  }
  const uuid = root.uuid ?? '';
  if (typeof uuid !== 'string') {
    throw malformedBody('uuid is not a string');
  }
  if (uuid.length > MAX_UUID_LENGTH) {
    throw malformedBody(`uuid is longer than ${MAX_UUID_LENGTH} characters`);
  }

  const host = fieldsOf(root.host);
  const build = fieldsOf(host.buildInfo);
  const dashboard = fieldsOf(root.dashboard);
  const user = fieldsOf(root.user);
  const raw = fieldsOf(fieldsOf(root.timeRange).raw);
  const hostname = text(host.hostname);
  // `port` is a string in the panel's payload (location.port); a number is read the same way.
  const port = typeof host.port === 'number' ? String(host.port) : text(host.port);
  return {
    uuid,
    type: type as WriteEventType,
    hasFocus: root.hasFocus === true,
    heartbeatInterval: positive(fieldsOf(root.options).heartbeatInterval),
    time: positive(root.time),
    dashboard: { uid: text(dashboard.uid), name: text(dashboard.name), timeZone: text(root.timeZone) },
    // As URL.host writes it, which is what the browser reports as grafana.host.
    grafana: {
      host: hostname !== '' && port !== '' ? `${hostname}:${port}` : hostname,
      env: text(build.env),
      version: text(build.version),
      edition: text(build.edition),
    },
    user: {
      isSignedIn: flag(user.isSignedIn),
      orgRole: text(user.orgRole),
      lightTheme: flag(user.lightTheme),
      timezone: text(user.timezone),
      locale: text(user.locale),
      login: text(user.login),
      name: text(user.name),
    },
    variables: listOf(root.variables).flatMap((v) => {
      const fields = fieldsOf(v);
      const name = text(fields.name);
      if (name === '') {
        return [];
      }
      // A single value (not a list) is one selection, as the panel meant it.
      const values = fields.values;
      return [
        {
          name,
          type: text(fields.type),
          values: typeof values === 'object' ? listOf(values) : values === undefined ? [] : [values],
        },
      ];
    }),
    timeRange: { from: raw.from, to: raw.to },
  };
}
