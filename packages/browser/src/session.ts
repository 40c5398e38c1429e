/**
 * A dashboard session: one browser tab looking at one dashboard. It is kept in the tab's
 * sessionStorage so that a reload within the inactivity window resumes it instead of counting a new
 * session; it dies with the tab.
 */
export interface Session {
  readonly id: string;
  readonly dashboardUid: string;
  /** Epoch ms when this page started or resumed the session (the duration recorded at its end counts from here). */
  readonly startedAt: number;
  /** Epoch ms of the last sign of life: start, heartbeat, or the page going away. */
  lastSeenAt: number;
  /** Set when the page went away (pagehide): only such a session may be resumed by the next page. */
  endedByPagehide?: boolean;
}

export const SESSION_STORAGE_KEY = 'footfall.session';

/** A short random id (for the debug view and the stored session only: it is never a metric attribute). */
export function newSessionId(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function saveSession(storage: Storage | undefined, session: Session | undefined): void {
  try {
    if (session === undefined) storage?.removeItem(SESSION_STORAGE_KEY);
    else storage?.setItem(SESSION_STORAGE_KEY, JSON.stringify(session));
  } catch {
    // Storage blocked or full: the session still works, it just cannot be resumed after a reload.
  }
}

/** The stored session if the previous page of this tab left it on `dashboardUid` less than `windowMs` ago. */
export function resumableSession(
  storage: Storage | undefined,
  dashboardUid: string,
  now: number,
  windowMs: number,
): Session | undefined {
  try {
    const text = storage?.getItem(SESSION_STORAGE_KEY);
    if (!text) return undefined;
    const s = JSON.parse(text) as Partial<Session>;
    const valid =
      typeof s.id === 'string' &&
      s.dashboardUid === dashboardUid &&
      typeof s.startedAt === 'number' &&
      typeof s.lastSeenAt === 'number' &&
      s.endedByPagehide === true &&
      now - s.lastSeenAt >= 0 &&
      now - s.lastSeenAt <= windowMs;
    // The previous page already recorded the duration up to its pagehide: this page counts from now, so
    // the duration histogram's sum stays equal to the engaged seconds.
    return valid ? { id: s.id!, dashboardUid, startedAt: now, lastSeenAt: now } : undefined;
  } catch {
    return undefined;
  }
}
