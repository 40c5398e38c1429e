import type { Aggregator, PointSender } from './aggregate/index.js';
import type { ExportResult, HistogramPoint, MetricsRequest, NumberPoint } from './decode/index.js';
import type { AttributeLimiter } from './limits/index.js';
import type { PrivacyPolicy, VerifiedSender } from './privacy/index.js';
import type { SelfMetrics } from './self-metrics.js';
import { IngestStats } from './stats.js';

export interface PipelineSettings {
  readonly privacy: PrivacyPolicy;
  readonly limiter: AttributeLimiter;
  readonly aggregator: Aggregator;
  readonly selfMetrics: SelfMetrics;
  readonly maxPointsPerRequest: number;
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
 * privacy (drop, hash, redact) → limits (label names, value lengths) → aggregate (plausibility, series
 * registry: caps, budgets, expiry; then the SDK). A refused point is counted and reported back as
 * partial success; it never fails the points beside it.
 */
export interface Pipeline {
  ingest(request: MetricsRequest, sender?: Sender): ExportResult;
}

/** Point attributes of a verified request: their identity claims are dropped, the pseudonym is on the resource. */
const NOBODY: VerifiedSender = { identity: undefined };

const MAX_MESSAGES = 3;

export function createPipeline(settings: PipelineSettings): Pipeline {
  const { privacy, limiter, aggregator, selfMetrics, maxPointsPerRequest } = settings;
  const tooMany = `more than ${maxPointsPerRequest} points in one request`;

  return {
    ingest(request, sender = UNKNOWN_SENDER) {
      const verified = sender.verified;
      const pointSender = verified && NOBODY;
      const aggregateSender: PointSender = { subject: sender.subject, incrementFactor: sender.incrementFactor };
      const stats = new IngestStats();
      let budget = maxPointsPerRequest;
      for (const resource of request.resources) {
        const resourceLabels = limiter.canonicalize(privacy.apply(resource.attributes, stats, verified), stats);
        for (const metric of resource.metrics) {
          const count = metric.type === 'unsupported' ? metric.pointCount : metric.points.length;
          if (metric.type === 'unsupported') {
            stats.refuse(
              'unsupported_type',
              count,
              `${metric.name}: ${metric.kind === 'empty' ? 'metric has no data' : `${metric.kind} is not supported`}`,
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
            const labels = limiter.apply(privacy.apply(point.attributes, stats, pointSender), resourceLabels, route.labelNames, stats);
            const recorded = route.record(point, labels, aggregateSender);
            if ('reason' in recorded) {
              stats.refuse(recorded.reason, 1, recorded.message);
              continue;
            }
            stats.accepted++;
            // Keyed by the catalog metric, whatever name the sender used for it.
            if (recorded.overflow) stats.overflow(route.metric.name);
          }
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
