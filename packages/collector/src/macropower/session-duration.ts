/**
 * The old server's session duration, credited as it grows. The old server summed, at every scrape,
 * over each cached session: with heartbeats, the gaps between the sorted times of all its events,
 * each capped at the session timeout; without heartbeats, end − start (capped only by an explicitly
 * configured timeout); otherwise 0. Here each event adds its time and credits what the total grew by,
 * so the counters end where the old server's would have been, whatever order the events arrive in.
 */

/** The times of one session's events (seconds, the client's clock) and what they have been credited. */
export interface SessionTimes {
  /** Every event's time, sorted; past maxEvents the oldest fall off into `folded`. */
  readonly times: number[];
  /** Seconds of the capped gaps between times that fell off the front. */
  folded: number;
  heartbeats: number;
  start: number | undefined;
  end: number | undefined;
  /** The earliest and latest event times ever seen: the window every credited second lies in. */
  first: number;
  last: number;
  /** The total credited so far; it never goes down. */
  credited: number;
}

export interface DurationSettings {
  /** The largest gap credited, in seconds; 0: 1.25 × the payload's heartbeat interval, as the old server did. */
  readonly sessionTimeoutSeconds: number;
  /** Event times kept per session; older ones are folded into a running sum. */
  readonly maxEvents: number;
}

/** What the old panel sends by default, for a payload that does not say. */
export const DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 60;

export function newSessionTimes(at: number): SessionTimes {
  return { times: [], folded: 0, heartbeats: 0, start: undefined, end: undefined, first: at, last: at, credited: 0 };
}

/** The largest gap one heartbeat interval credits. */
export function gapCap(settings: DurationSettings, heartbeatIntervalSeconds: number | undefined): number {
  return settings.sessionTimeoutSeconds > 0
    ? settings.sessionTimeoutSeconds
    : 1.25 * (heartbeatIntervalSeconds ?? DEFAULT_HEARTBEAT_INTERVAL_SECONDS);
}

/** The old server's duration of the events seen so far. */
export function legacyDuration(session: SessionTimes, settings: DurationSettings, cap: number): number {
  if (session.heartbeats > 0) {
    let total = session.folded;
    for (let i = 1; i < session.times.length; i++) {
      total += Math.min(session.times[i]! - session.times[i - 1]!, cap);
    }
    return total;
  }
  if (session.start === undefined || session.end === undefined) {
    return 0;
  }
  const span = Math.max(0, session.end - session.start);
  return settings.sessionTimeoutSeconds > 0 ? Math.min(span, settings.sessionTimeoutSeconds) : span;
}

/**
 * Adds one event and returns the seconds it credits: what the duration grew by, never less than 0 (a
 * heartbeat arriving after its end can make the old total smaller; what was counted stays counted).
 * The caller ignores a second start or a second end of a session.
 */
export function addEvent(
  session: SessionTimes,
  type: 'start' | 'heartbeat' | 'end',
  at: number,
  settings: DurationSettings,
  heartbeatIntervalSeconds: number | undefined
): number {
  const cap = gapCap(settings, heartbeatIntervalSeconds);
  if (type === 'start') {
    session.start = at;
  } else if (type === 'end') {
    session.end = at;
  } else {
    session.heartbeats++;
  }
  const times = session.times;
  // Older than what is still kept: its gaps were folded already, so the event cannot change the sum.
  if (!(session.folded > 0 && at < times[0]!)) {
    let i = times.length;
    while (i > 0 && times[i - 1]! > at) {
      i--;
    }
    times.splice(i, 0, at);
    session.first = Math.min(session.first, at);
    session.last = Math.max(session.last, at);
  }
  while (times.length > settings.maxEvents) {
    session.folded += Math.min(times[1]! - times[0]!, cap);
    times.shift();
  }
  const total = legacyDuration(session, settings, cap);
  const credit = Math.max(0, total - session.credited);
  session.credited += credit;
  return credit;
}
