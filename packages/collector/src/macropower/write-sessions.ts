import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { addEvent, newSessionTimes, type DurationSettings, type SessionTimes } from './session-duration.js';
import type { VariableSelection } from './selections.js';
import type { WriteEventType } from './payload.js';

/**
 * The old panel's sessions as this collector has seen them: the state its stateless payloads need to
 * become counter increments. Bounded like every other cache of client input: at most maxSessions,
 * each forgotten once idle, each with at most maxEvents times.
 */
export interface WriteSessions {
  /**
   * One event of a session. `key` is undefined for a payload without a uuid: nothing can be tracked
   * for it, so only what stands on its own (a start, its selections) is counted.
   */
  track(key: string | undefined, event: WriteEvent): SessionOutcome;
  /** Sessions held now. */
  size(): number;
}

export interface WriteEvent {
  readonly type: WriteEventType;
  /** Seconds since the epoch: the client's clock, as the old server used it. */
  readonly at: number;
  readonly heartbeatInterval: number | undefined;
  readonly variables: VariableSelection;
  /** The `time_range` label ('' when the payload has none). */
  readonly timeRange: string;
}

export interface SessionOutcome {
  /** The first start of this session seen here: one session. */
  readonly started: boolean;
  /** Seconds the old server's duration of the session grew by. */
  readonly credited: number;
  /** Client times every credited second lies between. */
  readonly window: { readonly start: number; readonly end: number };
  /** At a session's first end, its whole duration; undefined when its start was not seen here (the duration would be a part). */
  readonly endedDuration: number | undefined;
  /** Variables chosen at the start, or changed since the last event. */
  readonly variables: VariableSelection;
  /** The time range chosen at the start, or changed since ('' for none). */
  readonly timeRange: string;
  /** Puts the session back as it was before this event: its points were not recorded after all. */
  readonly undo: () => void;
}

export interface WriteSessionsSettings extends DurationSettings {
  readonly maxSessions: number;
  /** A session without an event for this long is forgotten. */
  readonly idleMs: number;
  /** Milliseconds; only tests replace it. */
  readonly now?: () => number;
}

interface SessionState {
  readonly times: SessionTimes;
  startSeen: boolean;
  ended: boolean;
  /** The client time of the newest event: an older one arriving late does not change the selections. */
  newest: number;
  /** name → a digest of its values: enough to notice a change without holding the values. */
  variables: Map<string, string>;
  timeRange: string;
}

/** An ended session stays a little for the heartbeats still on their way, not for the whole idle expiry. */
const ENDED_TTL_MS = 10 * 60_000;

const NOTHING: VariableSelection = new Map();

function digest(values: readonly string[]): string {
  return createHash('sha256').update(values.join('\u0000')).digest('base64url').slice(0, 16);
}

function digests(selection: VariableSelection): Map<string, string> {
  return new Map([...selection].map(([name, values]) => [name, digest(values)]));
}

export function createWriteSessions(settings: WriteSessionsSettings): WriteSessions {
  const now = settings.now ?? Date.now;
  const sessions = new LRUCache<string, SessionState>({
    max: settings.maxSessions,
    ttl: settings.idleMs,
    perf: { now },
  });

  function outcome(
    started: boolean,
    credited: number,
    times: SessionTimes | undefined,
    at: number,
    extra: Partial<SessionOutcome> = {}
  ): SessionOutcome {
    return {
      started,
      credited,
      window: times ? { start: times.first, end: times.last } : { start: at, end: at },
      endedDuration: undefined,
      variables: NOTHING,
      timeRange: '',
      undo: () => {},
      ...extra,
    };
  }

  return {
    size: () => sessions.size,
    track(key, event) {
      const { type, at } = event;
      if (key === undefined) {
        return type === 'start'
          ? outcome(true, 0, undefined, at, { variables: event.variables, timeRange: event.timeRange })
          : outcome(false, 0, undefined, at);
      }
      let state = sessions.get(key);
      const known = state !== undefined;
      // A repeated start or end changes nothing (the panel sends each once; a retry or a replay may not).
      if (state && ((type === 'start' && state.startSeen) || (type === 'end' && state.ended))) {
        return outcome(false, 0, state.times, at);
      }
      // A copy to put back if the pipeline turns the request away whole (nothing of it counted).
      const before = state && structuredClone(state);
      const undo = (): void => {
        if (before) {
          sessions.set(key, before);
        } else {
          sessions.delete(key);
        }
      };
      if (!state) {
        // Seen first here. Only a start counts a session: a heartbeat or an end of an unknown session
        // is one that started before a restart, on another replica, or before it was evicted, and was
        // counted there. Its duration is tracked from this event on.
        state = {
          times: newSessionTimes(at),
          startSeen: false,
          ended: false,
          newest: at,
          variables: digests(event.variables),
          timeRange: event.timeRange,
        };
      }
      const credited = addEvent(state.times, type, at, settings, event.heartbeatInterval);
      const started = type === 'start';
      if (started) {
        state.startSeen = true;
      }
      if (type === 'end') {
        state.ended = true;
      }

      // Selections: all of them at the start; afterwards only what changed, judged by the newest event.
      let variables: VariableSelection = NOTHING;
      let timeRange = '';
      if (started) {
        variables = event.variables;
        timeRange = event.timeRange;
      } else if (known && at >= state.newest) {
        const changed = new Map<string, readonly string[]>();
        for (const [name, values] of event.variables) {
          if (state.variables.get(name) !== digest(values)) {
            changed.set(name, values);
          }
        }
        variables = changed;
        if (event.timeRange !== state.timeRange) {
          timeRange = event.timeRange;
        }
      }
      if (at >= state.newest) {
        state.variables = digests(event.variables);
        state.timeRange = event.timeRange;
      }
      state.newest = Math.max(state.newest, at);
      sessions.set(key, state, state.ended ? { ttl: Math.min(ENDED_TTL_MS, settings.idleMs) } : undefined);
      return outcome(started, credited, state.times, at, {
        endedDuration: type === 'end' && state.startSeen ? state.times.credited : undefined,
        variables,
        timeRange,
        undo,
      });
    },
  };
}
