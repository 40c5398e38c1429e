import type { DataPoint } from '@opentelemetry/sdk-metrics';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Entries copied per event-loop turn by snapshot(). */
const SNAPSHOT_SLICE = 5000;

/** What the collector remembers of one dashboard, in ms since the epoch. */
export interface LedgerEntry {
  /** `{ dashboard_uid }`, made once: the gauges' series attributes, so /metrics finds its label text kept. */
  readonly labels: Readonly<Record<'dashboard_uid', string>>;
  /** The gauges' last points, kept by the dashboards producer while their times stay the same (not state). */
  lastOpenedPoint?: DataPoint<number>;
  firstSeenPoint?: DataPoint<number>;
  /** The last walk of a dashboards producer over the ledger that met this entry (a token per walk). */
  walk?: object;
  /** When the inventory first listed it (only with an inventory). */
  firstSeen?: number;
  /** When a session of it was last recorded. */
  lastOpened?: number;
  /** When a listing last had it (only with an inventory). */
  lastListed?: number;
}

export interface LedgerState {
  readonly uid: string;
  readonly firstSeen?: number | undefined;
  readonly lastOpened?: number | undefined;
  readonly lastListed?: number | undefined;
}

/**
 * Per dashboard, when it was last opened and when the inventory first listed it: what "unused" is
 * answered from, for any look-back, since the values are kept in the state file rather than derived
 * from counters Prometheus may have dropped. Bounded: the least recently touched entry goes first.
 */
export interface DashboardLedger {
  opened(uid: string, at: number): void;
  /** Marks each uid listed at `at` (and first seen then, if it was not before). */
  listed(uids: Iterable<string>, at: number): void;
  /**
   * Forgets the uids no listing has had since `before`. Not at once: a token that loses a folder for
   * a day, or a dashboard restored from a backup, keeps its history.
   */
  forgetUnlisted(before: number): void;
  entries(): IterableIterator<[string, LedgerEntry]>;
  readonly size: number;
  /** The entries as the state file keeps them, a slice per event-loop turn. */
  snapshot(): Promise<LedgerState[]>;
  /**
   * Puts saved entries back: the later last-opened and the earlier first-seen win. A time after `now`
   * is left out: a later last-opened would never be replaced, and the dashboard never look unused.
   */
  restore(saved: readonly LedgerState[], now: number): void;
}

export function createDashboardLedger(max: number): DashboardLedger {
  /**
   * In order of last touch, the least recent first (a Map keeps insertion order, and a touch moves
   * the entry to the end): iterated a hundred times faster than an LRUCache, on every scrape.
   */
  const entries = new Map<string, LedgerEntry>();
  const entry = (uid: string): LedgerEntry => {
    let found = entries.get(uid);
    if (found) {
      entries.delete(uid);
    } else {
      found = { labels: { dashboard_uid: uid } };
    }
    entries.set(uid, found);
    if (entries.size > max) {
      entries.delete(entries.keys().next().value!);
    }
    return found;
  };
  return {
    opened(uid, at) {
      const e = entry(uid);
      e.lastOpened = Math.max(e.lastOpened ?? 0, at);
    },
    listed(uids, at) {
      for (const uid of uids) {
        const e = entries.get(uid) ?? entry(uid);
        e.firstSeen ??= at;
        e.lastListed = at;
      }
    },
    forgetUnlisted(before) {
      for (const [uid, e] of entries) {
        if ((e.lastListed ?? 0) < before) {
          entries.delete(uid);
        }
      }
    },
    entries: () => entries.entries(),
    get size() {
      return entries.size;
    },
    async snapshot() {
      const out: LedgerState[] = [];
      // A session meanwhile moves its entry to the end, where it is met again: restore() merges the two.
      for (const [uid, e] of entries) {
        out.push({ uid, firstSeen: e.firstSeen, lastOpened: e.lastOpened, lastListed: e.lastListed });
        if (out.length % SNAPSHOT_SLICE === 0) {
          await nextTurn();
        }
      }
      return out;
    },
    restore(saved, now) {
      const past = (at: number | undefined): number | undefined => (at !== undefined && at <= now ? at : undefined);
      // Oldest first, so the most recently opened end up the least likely to be evicted.
      for (const s of [...saved].sort((a, b) => (a.lastOpened ?? 0) - (b.lastOpened ?? 0))) {
        const e = entry(s.uid);
        const lastOpened = past(s.lastOpened);
        const firstSeen = past(s.firstSeen);
        const lastListed = past(s.lastListed);
        if (lastOpened !== undefined) {
          e.lastOpened = Math.max(e.lastOpened ?? 0, lastOpened);
        }
        if (firstSeen !== undefined) {
          e.firstSeen = Math.min(e.firstSeen ?? Infinity, firstSeen);
        }
        if (lastListed !== undefined) {
          e.lastListed = Math.max(e.lastListed ?? 0, lastListed);
        }
      }
    },
  };
}
