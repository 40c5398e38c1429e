import type { Aggregator } from './aggregate/index.js';
import type { ExportResult, HistogramPoint, MetricsRequest, NumberPoint } from './decode/index.js';
import type { AttributeLimiter, SeriesCap } from './limits/index.js';
import type { PrivacyPolicy, VerifiedSender } from './privacy/index.js';
import type { SelfMetrics } from './self-metrics.js';
import { IngestStats } from './stats.js';

export interface PipelineSettings {
  readonly privacy: PrivacyPolicy;
  readonly limiter: AttributeLimiter;
  readonly seriesCap: SeriesCap;
  readonly aggregator: Aggregator;
  readonly selfMetrics: SelfMetrics;
  readonly maxPointsPerRequest: number;
}

/**
 * How the stages are put together. Every point of a decoded request crosses them once, in this order:
 * privacy (drop, hash, redact) → limits (label names, caps) → series cap → aggregate. A refused point
 * is counted and reported back as partial success; it never fails the points beside it.
 */
export interface Pipeline {
  /** `sender`: present when the authorize stage verified who sent the request (see PrivacyPolicy). */
  ingest(request: MetricsRequest, sender?: VerifiedSender): ExportResult;
}

/** Point attributes of a verified request: their identity claims are dropped, the pseudonym is on the resource. */
const NOBODY: VerifiedSender = { identity: undefined };

const MAX_MESSAGES = 3;

export function createPipeline(settings: PipelineSettings): Pipeline {
  const { privacy, limiter, seriesCap, aggregator, selfMetrics, maxPointsPerRequest } = settings;
  const tooMany = `more than ${maxPointsPerRequest} points in one request`;

  return {
    ingest(request, sender) {
      const pointSender = sender && NOBODY;
      const stats = new IngestStats();
      let budget = maxPointsPerRequest;
      for (const resource of request.resources) {
        const resourceLabels = limiter.canonicalize(privacy.apply(resource.attributes, stats, sender), stats);
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
            const refused = route.check(point);
            if (refused) {
              stats.refuse(refused.reason, 1, refused.message);
              continue;
            }
            const labels = limiter.apply(privacy.apply(point.attributes, stats, pointSender), resourceLabels, route.labelNames, stats);
            const series = seriesCap.admit(metric.name, labels);
            route.record(point, series);
            stats.accepted++;
            if (series.overflow) stats.overflow(metric.name);
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
