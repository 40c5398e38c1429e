import { ATTR, type Aggregator, type PointSender, type Route } from './aggregate/index.js';
import type { ExportResult, HistogramPoint, MetricsRequest, NumberPoint } from './decode/index.js';
import { inventoryPending } from './errors.js';
import type { DashboardLedger, Inventory } from './inventory/index.js';
import { labelName, type AttributeLimiter, type Labels } from './limits/index.js';
import type { PrivacyPolicy, VerifiedSender } from './privacy/index.js';
import type { SelfMetrics } from './self-metrics.js';
import { IngestStats } from './stats.js';

export interface PipelineSettings {
  readonly privacy: PrivacyPolicy;
  readonly limiter: AttributeLimiter;
  readonly aggregator: Aggregator;
  readonly selfMetrics: SelfMetrics;
  readonly maxPointsPerRequest: number;
  /** With one, dashboards' names and folders come from Grafana, and uids Grafana does not have are refused. */
  readonly inventory?: Inventory | undefined;
  /** Where each dashboard's last session is noted. */
  readonly ledger: DashboardLedger;
  /** ms since the epoch. */
  readonly now: () => number;
}

/** Who sent a request, as the authorize stage established it. */
export interface Sender {
  /** Present when the authorize stage verifies who sends (see PrivacyPolicy): only then a pseudonym comes from it. */
  readonly verified?: VerifiedSender | undefined;
  /** The key its budget for new series is kept under; undefined: no per-sender budget (bearer, none). */
  readonly subject?: string | undefined;
  /** Multiplies the catalog's increment bounds: 1 for a browser, more for a sender that aggregates browsers. */
  readonly incrementFactor: number;
}

/** A sender the collector knows nothing about: a browser's bounds, no per-sender budget. */
export const UNKNOWN_SENDER: Sender = { incrementFactor: 1 };

/**
 * How the stages are put together. Every point of a decoded request crosses them once, in this order:
 * privacy (drop, hash, redact) → limits (label names, value lengths) → inventory (the dashboard's name
 * and folder as Grafana has them; uids it does not have refused) → aggregate (plausibility, series
 * registry: caps, budgets, expiry; then the SDK). A refused point is counted and reported back as
 * partial success; it never fails the points beside it.
 */
export interface Pipeline {
  /**
   * Throws a retryable RequestError, with nothing recorded, when the inventory must list Grafana's
   * dashboards again before it can say whether a uid of the request is one of them.
   */
  ingest(request: MetricsRequest, sender?: Sender): ExportResult;
}

/** A point that passed every check before recording, with its labels. */
interface Checked {
  readonly route: Route;
  readonly point: NumberPoint | HistogramPoint;
  readonly labels: Labels;
}

const UID = labelName(ATTR.DASHBOARD_UID)!;
const NAME = labelName(ATTR.DASHBOARD_NAME)!;
const FOLDER = labelName(ATTR.DASHBOARD_FOLDER)!;
/** Its points are sessions begun: what a dashboard's last-opened time follows. */
const SESSIONS = 'grafana.dashboard.sessions';

/** Point attributes of a verified request: their identity claims are dropped, the pseudonym is on the resource. */
const NOBODY: VerifiedSender = { identity: undefined };

const MAX_MESSAGES = 3;

export function createPipeline(settings: PipelineSettings): Pipeline {
  const { privacy, limiter, aggregator, selfMetrics, maxPointsPerRequest, inventory, ledger, now } = settings;
  const tooMany = `more than ${maxPointsPerRequest} points in one request`;
  const notGrafanas = 'dashboard.uid is not a dashboard Grafana has (inventory)';

  return {
    ingest(request, sender = UNKNOWN_SENDER) {
      const verified = sender.verified;
      const pointSender = verified && NOBODY;
      const aggregateSender: PointSender = { subject: sender.subject, incrementFactor: sender.incrementFactor };
      const stats = new IngestStats();
      const checked: Checked[] = [];
      let budget = maxPointsPerRequest;
      for (const resource of request.resources) {
        const resourceLabels = limiter.canonicalize(privacy.apply(resource.attributes, stats, verified), stats);
        for (const metric of resource.metrics) {
          const count = metric.type === 'unsupported' ? metric.pointCount : metric.points.length;
          if (metric.type === 'unsupported') {
            stats.refuse(
              'unsupported_type',
              count,
              `${metric.name}: ${metric.kind === 'empty' ? 'metric has no data' : `${metric.kind} is not supported`}`
            );
            continue;
          }
          const route = aggregator.route(metric);
          if (!('record' in route)) {
            stats.refuse(route.reason, count, route.message);
            continue;
          }
          const points: ReadonlyArray<NumberPoint | HistogramPoint> = metric.points;
          for (const point of points) {
            if (budget-- <= 0) {
              stats.refuse('too_many_points', 1, tooMany);
              continue;
            }
            if (point.noRecordedValue) {
              stats.skip('no_recorded_value');
              continue;
            }
            const refused = route.check(point, aggregateSender);
            if (refused) {
              stats.refuse(refused.reason, 1, refused.message);
              continue;
            }
            checked.push({
              route,
              point,
              labels: limiter.apply(
                privacy.apply(point.attributes, stats, pointSender),
                resourceLabels,
                route.labelNames,
                stats
              ),
            });
          }
        }
      }
      if (inventory) {
        // Decided for the whole request before anything is recorded: a 503 then leaves nothing half-counted.
        // A point with no uid needs no listing to be refused.
        const wait = inventory.waitFor(new Set(checked.flatMap((c) => c.labels[UID] ?? [])), sender.subject);
        if (wait !== undefined) {
          throw inventoryPending(wait);
        }
      }
      for (const { route, point, labels } of checked) {
        const uid = labels[UID];
        if (inventory) {
          const listed = uid === undefined ? undefined : inventory.lookup(uid);
          if (!listed) {
            stats.refuse('unknown_dashboard', 1, notGrafanas);
            continue;
          }
          labels[NAME] = listed.name;
          if (listed.folder === '') {
            delete labels[FOLDER];
          } else {
            labels[FOLDER] = listed.folder;
          }
        }
        const recorded = route.record(point, labels, aggregateSender);
        if ('reason' in recorded) {
          stats.refuse(recorded.reason, 1, recorded.message);
          continue;
        }
        stats.accepted++;
        // Keyed by the catalog metric, whatever name the sender used for it.
        if (recorded.overflow) {
          stats.overflow(route.metric.name);
        }
        // Without an inventory a uid is the sender's word: one that overflowed the series cap is not
        // remembered either, so the ledger stays as bounded as the series are.
        const remember = inventory !== undefined || !recorded.overflow;
        if (
          remember &&
          uid !== undefined &&
          route.metric.name === SESSIONS &&
          ((point as NumberPoint).value ?? 0) > 0
        ) {
          ledger.opened(uid, now());
        }
      }
      selfMetrics.ingested(stats);
      const messages = [...stats.refusalMessages.values()];
      const extra = messages.length > MAX_MESSAGES ? `; and ${messages.length - MAX_MESSAGES} more reasons` : '';
      return {
        rejectedDataPoints: stats.refusedCount,
        errorMessage: messages.slice(0, MAX_MESSAGES).join('; ') + extra,
      };
    },
  };
}
