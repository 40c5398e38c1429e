/**
 * Engaged time, split by what the page was doing: `focused` (visible and has focus), `visible` (on
 * screen, focus elsewhere — a wall display, a second monitor) and `hidden` (background tab, minimised).
 * The state changes on visibility and focus events; time is credited to the state that was current,
 * from the moment of each change, never by sampling the state when a timer fires.
 */
export type EngagementState = 'focused' | 'visible' | 'hidden';

/** The state of a document right now. */
export function engagementOf(doc: Pick<Document, 'visibilityState' | 'hasFocus'>): EngagementState {
  if (doc.visibilityState === 'hidden') return 'hidden';
  return doc.hasFocus() ? 'focused' : 'visible';
}

export interface EngagementSpan {
  readonly state: EngagementState;
  readonly seconds: number;
}

export interface EngagementClock {
  readonly state: EngagementState;
  /** Epoch ms since which the page has been in `state` (settling does not move it). */
  readonly since: number;
  /** Moves to `next` at `at`; returns the time spent in the previous state (none if unchanged). */
  change(next: EngagementState, at: number): EngagementSpan | undefined;
  /** Credits the time in the current state up to `at`, and goes on counting from there. */
  settle(at: number): EngagementSpan | undefined;
}

export function createEngagementClock(state: EngagementState, since: number): EngagementClock {
  let current = state;
  let stateSince = since;
  /** Time before this has been credited already. */
  let credited = since;
  // A span ends at `at`, but never before it began: an event may carry an earlier time than the last settle.
  const take = (at: number): EngagementSpan | undefined => {
    const seconds = Math.max(0, at - credited) / 1000;
    credited = Math.max(credited, at);
    return seconds > 0 ? { state: current, seconds } : undefined;
  };
  return {
    get state() {
      return current;
    },
    get since() {
      return stateSince;
    },
    change(next, at) {
      if (next === current) return undefined;
      const spent = take(at);
      current = next;
      stateSince = Math.max(stateSince, at);
      return spent;
    },
    settle: take,
  };
}
