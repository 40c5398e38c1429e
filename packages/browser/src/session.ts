/**
 * The session a page leaves to the next page of its tab: written at pagehide, read once by the next
 * page (a reload, or this page back from the back/forward cache), in the tab's sessionStorage, so it
 * dies with the tab.
 */
import type { DashboardIdentity, StoredSession } from './machine.ts';

export const SESSION_STORAGE_KEY = 'footfall.session';

export function saveStoredSession(storage: Storage | undefined, session: StoredSession | undefined): void {
  try {
    if (session === undefined) {
      storage?.removeItem(SESSION_STORAGE_KEY);
    } else {
      storage?.setItem(SESSION_STORAGE_KEY, JSON.stringify(session));
    }
  } catch {
    // Storage blocked or full: the session still works, it just cannot be resumed after a reload.
  }
}

const isText = (x: unknown): x is string => typeof x === 'string';
const isTime = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

function identityOf(x: unknown): DashboardIdentity | undefined {
  if (typeof x !== 'object' || x === null) {
    return undefined;
  }
  const { title, folder } = x as Record<string, unknown>;
  return isText(title) && isText(folder) ? { title, folder } : undefined;
}

/** The stored session, checked field by field (storage may hold what an older version wrote, or junk). */
export function loadStoredSession(storage: Storage | undefined): StoredSession | undefined {
  try {
    const text = storage?.getItem(SESSION_STORAGE_KEY);
    if (!text) {
      return undefined;
    }
    const s = JSON.parse(text) as Record<string, unknown>;
    if (
      !isText(s.id) ||
      !isText(s.dashboardUid) ||
      s.dashboardUid === '' ||
      !isTime(s.startedAt) ||
      !isTime(s.lastSeenAt)
    ) {
      return undefined;
    }
    // Written by the panel before 0.2: only a session its pagehide ended (which recorded its duration) may resume.
    const legacy = s.endedByPagehide === true;
    if (typeof s.durationObserved !== 'boolean' && !legacy) {
      return undefined;
    }
    const identity = identityOf(s.identity);
    return {
      id: s.id,
      dashboardUid: s.dashboardUid,
      startedAt: Math.min(s.startedAt, s.lastSeenAt),
      lastSeenAt: s.lastSeenAt,
      durationObserved: legacy || s.durationObserved === true,
      ...(identity ? { identity } : {}),
    };
  } catch {
    return undefined;
  }
}
