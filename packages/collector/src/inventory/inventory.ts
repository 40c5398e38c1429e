import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { listDashboards, ListingError, type ListedDashboard, type ListingFailure } from './grafana-search.js';
import type { DashboardLedger } from './ledger.js';

/** A dashboard's name and folder as Grafana has them, ready to be label values ('' folder: General). */
export interface DashboardEntry {
  readonly name: string;
  readonly folder: string;
}

/** One service-account token: its org's dashboards. */
export interface InventorySource {
  readonly grafanaUrl: string;
  readonly token: string;
}

/** The last good listing of one source, as the state file keeps it. */
export interface SourceState {
  /** A hash of the source's URL and token (never the token): a listing goes back only to the same source. */
  readonly source: string;
  readonly listedAt: number;
  readonly dashboards: Array<[uid: string, name: string, folder: string]>;
}

export interface InventorySettings {
  readonly sources: readonly InventorySource[];
  readonly fetch: typeof fetch;
  readonly intervalMs: number;
  /** The soonest a refresh follows the one before, when a uid it does not know asks for one. */
  readonly minIntervalMs: number;
  readonly timeoutMs: number;
  readonly pageSize: number;
  readonly maxDashboards: number;
  /** Uids waiting for a refresh to say whether Grafana has them; past it, an unknown uid is refused at once. */
  readonly maxPending: number;
  /**
   * Of those, how many one sender (an authorize subject: a signed-in user, a session) may have waiting,
   * so one user inventing uids cannot fill the place a new dashboard's first viewers need.
   */
  readonly maxPendingPerSender: number;
  /** Makes a title or folder a label value (length cap, e-mail redaction), as a browser's would be. */
  readonly labelValue: (value: string) => string;
  readonly ledger: DashboardLedger;
  /** A dashboard no listing has had for this long loses its first-seen and last-opened times. */
  readonly forgetUnlistedAfterMs: number;
  readonly logger: Logger;
  /** Counts each source's refresh: ok, or why it failed. */
  readonly report: (result: 'ok' | ListingFailure) => void;
  /** ms since the epoch. */
  readonly now: () => number;
}

/**
 * Every dashboard Grafana has, listed with service-account tokens, refreshed periodically. Names and
 * folders of recorded series come from here, not from the browser, and a uid Grafana does not have is
 * refused, but only once a refresh begun after it was first seen has not listed it: a dashboard made a
 * minute ago is not lost. Until then its requests are answered 503 (retryable; nothing is recorded)
 * and a refresh is brought forward. Grafana slow, down or answering garbage: the last good listing of
 * each source stays (also across restarts, through the state file).
 */
export interface Inventory {
  /**
   * Whether points of these uids can be decided now. undefined: yes (each is listed or known not to
   * be); otherwise the seconds after which to retry, a refresh being on its way. `subject` is the
   * sender's (undefined for bearer and unauthenticated senders, which have no per-sender share).
   */
  waitFor(uids: ReadonlySet<string>, subject?: string): number | undefined;
  /** The listed dashboard, or undefined for a uid Grafana does not have. */
  lookup(uid: string): DashboardEntry | undefined;
  /** Every listed dashboard. */
  dashboards(): ReadonlyMap<string, DashboardEntry>;
  /** Lists now (also periodically once started); resolves when done, never rejects. */
  refresh(): Promise<void>;
  /** When the last refresh with every source listed ended (ms), or undefined. */
  lastSuccess(): number | undefined;
  start(): void;
  stop(): void;
  snapshot(): SourceState[];
  restore(saved: readonly SourceState[]): void;
}

/** How many uids known not to be Grafana's are remembered (each would otherwise ask for a refresh again). */
const MAX_UNKNOWN = 10_000;

export function sourceKey(source: InventorySource): string {
  return createHash('sha256').update(`${source.grafanaUrl}\n${source.token}`).digest('hex').slice(0, 16);
}

export function createInventory(settings: InventorySettings): Inventory {
  const { logger, now, ledger } = settings;
  const sources = settings.sources.map((s) => ({
    ...s,
    key: sourceKey(s),
    listing: undefined as Map<string, DashboardEntry> | undefined,
    listedAt: 0,
    failing: false,
  }));
  let merged = new Map<string, DashboardEntry>();
  /** uid → when first seen unlisted (ms): waiting for a refresh begun after that. */
  const pending = new Map<string, { readonly firstSeen: number; readonly subject: string | undefined }>();
  /** Uids waiting, per sender that has any. */
  const pendingBy = new Map<string, number>();
  function unpend(uid: string): void {
    const subject = pending.get(uid)?.subject;
    pending.delete(uid);
    if (subject === undefined) {
      return;
    }
    const left = (pendingBy.get(subject) ?? 1) - 1;
    if (left > 0) {
      pendingBy.set(subject, left);
    } else {
      pendingBy.delete(subject);
    }
  }
  const unknown = new LRUCache<string, true>({ max: MAX_UNKNOWN });
  let running: Promise<void> | undefined;
  let lastStart = -Infinity;
  let lastSuccess: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let soon: NodeJS.Timeout | undefined;
  let started = false;

  function merge(): void {
    // The first source that lists a uid names it: uids are unique per org, and rarely shared across orgs.
    const next = new Map<string, DashboardEntry>();
    for (const source of sources) {
      for (const [uid, entry] of source.listing ?? []) {
        if (!next.has(uid)) {
          next.set(uid, entry);
        }
      }
    }
    merged = next;
  }

  function toEntries(listed: readonly ListedDashboard[]): Map<string, DashboardEntry> {
    return new Map(
      listed.map((d) => [d.uid, { name: settings.labelValue(d.name), folder: settings.labelValue(d.folder) }])
    );
  }

  async function listSource(source: (typeof sources)[number]): Promise<boolean> {
    try {
      const listed = await listDashboards({
        ...source,
        fetch: settings.fetch,
        timeoutMs: settings.timeoutMs,
        pageSize: settings.pageSize,
        maxDashboards: settings.maxDashboards,
      });
      // Search answers 200 [] to a token that lost its access (a role changed, a folder's permissions):
      // taken as is, it would forget every dashboard's last-opened time, in the state file too.
      if (listed.length === 0 && (source.listing?.size ?? 0) > 0) {
        throw new ListingError(
          'empty',
          `Grafana listed no dashboards where it listed ${source.listing!.size}: does the token still have dashboards:read?`
        );
      }
      source.listing = toEntries(listed);
      source.listedAt = now();
      settings.report('ok');
      if (source.failing) {
        logger.info(
          { grafanaUrl: source.grafanaUrl, source: source.key, dashboards: listed.length },
          'dashboard inventory listed again'
        );
      }
      source.failing = false;
      return true;
    } catch (err) {
      const reason = err instanceof ListingError ? err.reason : 'unreachable';
      settings.report(reason);
      // Once per failing streak: a Grafana down for an hour is one line, not one per refresh.
      if (!source.failing) {
        logger.warn(
          {
            grafanaUrl: source.grafanaUrl,
            source: source.key,
            reason,
            err: (err as Error).message,
            keptDashboards: source.listing?.size ?? 0,
          },
          'cannot list the dashboard inventory: keeping the last listing'
        );
      }
      source.failing = true;
      return false;
    }
  }

  async function runRefresh(): Promise<void> {
    const startedAt = now();
    lastStart = startedAt;
    const results = await Promise.all(sources.map(listSource));
    merge();
    const allListed = results.every(Boolean);
    if (allListed) {
      lastSuccess = now();
    }
    ledger.listed(merged.keys(), now());
    if (allListed) {
      ledger.forgetUnlisted(now() - settings.forgetUnlistedAfterMs);
    }
    for (const [uid, { firstSeen }] of pending) {
      if (merged.has(uid)) {
        unpend(uid);
      } else if (allListed && firstSeen <= startedAt) {
        unpend(uid);
        unknown.set(uid, true);
      }
    }
    for (const uid of merged.keys()) {
      unknown.delete(uid);
    }
  }

  function refresh(): Promise<void> {
    if (running) {
      return running;
    }
    running = runRefresh()
      .catch((err: unknown) => logger.error({ err }, 'dashboard inventory refresh failed'))
      .finally(() => {
        running = undefined;
        if (pending.size > 0) {
          schedule();
        }
      });
    return running;
  }

  /** A refresh as soon as minIntervalMs allows, for the uids waiting on one. */
  function schedule(): void {
    if (!started || soon || running) {
      return;
    }
    const delay = Math.max(0, lastStart + settings.minIntervalMs - now());
    soon = setTimeout(() => {
      soon = undefined;
      void refresh();
    }, delay);
    soon.unref();
  }

  function retryAfterSeconds(): number {
    const due = running ? now() + settings.timeoutMs : Math.max(now(), lastStart + settings.minIntervalMs);
    return Math.max(1, Math.ceil((due - now()) / 1000) + 1);
  }

  return {
    waitFor(uids, subject) {
      let wait = false;
      for (const uid of uids) {
        if (merged.has(uid) || unknown.has(uid)) {
          continue;
        }
        if (!pending.has(uid)) {
          // A flood of invented uids must not grow this without bound, nor take every place: past
          // either cap they are refused at once.
          const mine = subject === undefined ? 0 : (pendingBy.get(subject) ?? 0);
          if (pending.size >= settings.maxPending || mine >= settings.maxPendingPerSender) {
            continue;
          }
          pending.set(uid, { firstSeen: now(), subject });
          if (subject !== undefined) {
            pendingBy.set(subject, mine + 1);
          }
        }
        wait = true;
      }
      if (!wait) {
        return undefined;
      }
      schedule();
      return retryAfterSeconds();
    },
    lookup: (uid) => merged.get(uid),
    dashboards: () => merged,
    refresh,
    lastSuccess: () => lastSuccess,
    start() {
      started = true;
      void refresh();
      timer = setInterval(() => void refresh(), settings.intervalMs);
      timer.unref();
    },
    stop() {
      started = false;
      clearInterval(timer);
      clearTimeout(soon);
      soon = undefined;
    },
    snapshot() {
      return sources
        .filter((s) => s.listing !== undefined)
        .map((s) => ({
          source: s.key,
          listedAt: s.listedAt,
          dashboards: [...s.listing!].map(([uid, e]): [string, string, string] => [uid, e.name, e.folder]),
        }));
    },
    restore(saved) {
      for (const state of saved) {
        const source = sources.find((s) => s.key === state.source);
        if (!source || source.listing) {
          continue;
        }
        source.listing = new Map(
          state.dashboards.map(([uid, name, folder]) => [
            uid,
            { name: settings.labelValue(name), folder: settings.labelValue(folder) },
          ])
        );
        source.listedAt = state.listedAt;
      }
      merge();
    },
  };
}
