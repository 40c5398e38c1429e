import type { Attributes } from '@opentelemetry/api';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { z } from 'zod';
import { CATALOG_METER } from './counter-store.js';

const labels = z.record(z.string(), z.string());
/** Totals past 2^53 lose whole units in a double: no plausible count gets there, a poisoned one does. */
const total = z.number().nonnegative().max(Number.MAX_SAFE_INTEGER);
const count = total.int();
/** When the series was last updated, in ms since the epoch (version 2); version 1 files take savedAt. */
const updatedAt = z.number().int().nonnegative().optional();

const counterEntry = z.object({ name: z.string(), labels, value: total, updatedAt }).strict();
const histogramEntry = z
  .object({
    name: z.string(),
    labels,
    boundaries: z.array(z.number()),
    counts: z.array(count),
    sum: total,
    count,
    updatedAt,
  })
  .strict()
  .refine((h) => h.counts.length === h.boundaries.length + 1, {
    message: 'counts must have one entry more than boundaries',
  })
  .refine((h) => h.counts.reduce((a, b) => a + b, 0) === h.count, { message: 'count must equal the sum of counts' });

const ms = z.number().int().nonnegative();
/** A dashboard's first-listed and last-opened times (version 3). */
const dashboardEntry = z
  .object({ uid: z.string().min(1), firstSeen: ms.optional(), lastOpened: ms.optional(), lastListed: ms.optional() })
  .strict();
/** One inventory source's last good listing (version 3): [uid, name, folder] per dashboard. */
const listingEntry = z
  .object({
    source: z.string().min(1),
    listedAt: ms,
    dashboards: z.array(z.tuple([z.string().min(1), z.string(), z.string()])),
  })
  .strict();

/** The file's frame; each entry in it is checked on its own, so one bad entry costs only itself. */
const stateFileSchema = z
  .object({
    version: z.union([z.literal(1), z.literal(2), z.literal(3)]),
    savedAt: z.iso.datetime(),
    /** The collector's service.instance.id when no pod name gives one (version 2). */
    instanceId: z.string().min(1).max(128).optional(),
    counters: z.array(z.unknown()),
    histograms: z.array(z.unknown()),
    dashboards: z.array(z.unknown()).optional(),
    inventory: z.array(z.unknown()).optional(),
  })
  .strict();

export type CounterState = z.infer<typeof counterEntry>;
export type HistogramState = z.infer<typeof histogramEntry>;
export type DashboardState = z.infer<typeof dashboardEntry>;
export type ListingState = z.infer<typeof listingEntry>;

/** What the state file holds: every live catalog series with its cumulative value and last update. */
export interface CollectorState {
  /** ms since the epoch. */
  readonly savedAt: number;
  readonly instanceId?: string | undefined;
  readonly counters: readonly CounterState[];
  readonly histograms: readonly HistogramState[];
  /** Per dashboard, when it was first listed and last opened. */
  readonly dashboards?: readonly DashboardState[];
  /** The inventory's last good listings, per source. */
  readonly inventory?: readonly ListingState[];
}

/** A parsed state file: the entries that can be used, and why the others cannot (at most a few reasons). */
export interface ParsedState {
  readonly state: CollectorState;
  readonly skipped: number;
  readonly problems: readonly string[];
}

/**
 * Reads a state file's JSON. Throws (with the reason) only when the frame is unusable; an entry that
 * is not (a non-finite or negative total, a wrong shape) is skipped and described.
 */
export function parseState(json: unknown): ParsedState {
  const frame = stateFileSchema.safeParse(json);
  if (!frame.success) {
    throw new Error(
      frame.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`)
        .join('; ')
    );
  }
  const problems = new Set<string>();
  let skipped = 0;
  function entries<T>(list: readonly unknown[], schema: z.ZodType<T>, field: string): T[] {
    const kept: T[] = [];
    list.forEach((entry, i) => {
      const parsed = schema.safeParse(entry);
      if (parsed.success) {
        kept.push(parsed.data);
      } else {
        skipped++;
        const issue = parsed.error.issues[0]!;
        if (problems.size < 3) {
          problems.add(`${field}[${i}].${issue.path.join('.')}: ${issue.message}`);
        }
      }
    });
    return kept;
  }
  const { savedAt, instanceId, counters, histograms, dashboards = [], inventory = [] } = frame.data;
  return {
    state: {
      savedAt: Date.parse(savedAt),
      instanceId,
      counters: entries(counters, counterEntry, 'counters'),
      histograms: entries(histograms, histogramEntry, 'histograms'),
      dashboards: entries(dashboards, dashboardEntry, 'dashboards'),
      inventory: entries(inventory, listingEntry, 'inventory'),
    },
    skipped,
    problems: [...problems],
  };
}

/** Entries per chunk of the state file's JSON (and per event-loop turn of a snapshot). */
const SLICE_ENTRIES = 2000;

/**
 * The JSON a state file holds for a state, in chunks of at most SLICE_ENTRIES entries: a writer that
 * writes one chunk at a time never holds the event loop for the whole file (100,000 series stringify
 * in about 200 ms). Joined, the chunks are exactly serializeState's text.
 */
export function* serializeStateChunks(state: CollectorState): Generator<string> {
  yield `{"version":3,"savedAt":${JSON.stringify(new Date(state.savedAt).toISOString())}`;
  if (state.instanceId !== undefined) {
    yield `,"instanceId":${JSON.stringify(state.instanceId)}`;
  }
  const lists: Array<[string, readonly unknown[]]> = [
    ['counters', state.counters],
    ['histograms', state.histograms],
    ['dashboards', state.dashboards ?? []],
    ['inventory', state.inventory ?? []],
  ];
  for (const [field, list] of lists) {
    yield `,${JSON.stringify(field)}:[`;
    for (let start = 0; start < list.length; start += SLICE_ENTRIES) {
      const slice = list.slice(start, start + SLICE_ENTRIES).map((entry) => JSON.stringify(entry));
      yield (start === 0 ? '' : ',') + slice.join(',');
    }
    yield ']';
  }
  yield '}';
}

/** The JSON a state file holds for a state. */
export function serializeState(state: CollectorState): string {
  return [...serializeStateChunks(state)].join('');
}

/**
 * The catalog's cumulative series out of one collection, with when each was last updated: what a
 * restart must continue. A series the registry no longer knows (it expired) is left out. Yields to the
 * event loop every SLICE_ENTRIES series.
 */
export async function snapshotState(
  resourceMetrics: ResourceMetrics,
  lastUpdated: (family: string, attributes: Attributes) => number | undefined,
  settings: { readonly now: number; readonly instanceId?: string | undefined }
): Promise<CollectorState> {
  const counters: CounterState[] = [];
  const histograms: HistogramState[] = [];
  let seen = 0;
  for (const scope of resourceMetrics.scopeMetrics) {
    if (scope.scope.name !== CATALOG_METER) {
      continue;
    }
    for (const metric of scope.metrics) {
      const name = metric.descriptor.name;
      if (metric.dataPointType === DataPointType.SUM && metric.isMonotonic) {
        for (const point of metric.dataPoints) {
          // Inline, not a helper: an await per point would cost a promise per series.
          if (++seen % SLICE_ENTRIES === 0) {
            await nextTurn();
          }
          const at = lastUpdated(name, point.attributes);
          if (at === undefined || !Number.isFinite(point.value)) {
            continue;
          }
          counters.push({ name, labels: stringLabels(point.attributes), value: point.value, updatedAt: at });
        }
      } else if (metric.dataPointType === DataPointType.HISTOGRAM) {
        for (const point of metric.dataPoints) {
          if (++seen % SLICE_ENTRIES === 0) {
            await nextTurn();
          }
          const at = lastUpdated(name, point.attributes);
          const { buckets, sum = 0, count } = point.value;
          if (at === undefined || !Number.isFinite(sum)) {
            continue;
          }
          histograms.push({
            name,
            labels: stringLabels(point.attributes),
            boundaries: [...buckets.boundaries],
            counts: [...buckets.counts],
            sum,
            count,
            updatedAt: at,
          });
        }
      }
    }
  }
  return { savedAt: settings.now, instanceId: settings.instanceId, counters, histograms };
}

/** The attributes as string labels: the object itself when it has only strings (nearly always), so a save copies nothing. */
function stringLabels(attributes: Attributes): Record<string, string> {
  let strings = true;
  for (const key in attributes) {
    if (typeof attributes[key] !== 'string') {
      strings = false;
    }
  }
  if (strings) {
    return attributes as Record<string, string>;
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    out[key] = String(value);
  }
  return out;
}
