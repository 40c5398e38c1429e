import { ExportResultCode } from '@opentelemetry/core';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import { createRetryQueue } from './retry-queue.js';
import { splitRequests, type ForwardRequest, type RequestLimits } from './split-requests.js';
import type { Upstream } from './upstream.js';

/** One request's outcome: taken whole, taken with points rejected (partial success), or not taken. */
export type ForwardResult = 'ok' | 'partial' | 'failed';

/**
 * Why points will not reach the upstream: `rejected` by it in a partial success; `refused` with the whole
 * request (4xx); `export_failed`, cumulative data the upstream did not take in time (the next export
 * carries the totals); `queue_full`, the oldest delta data past forward.queuePoints; `too_large`, a
 * point that alone is over forward.maxBytesPerRequest; `shutdown`, delta data still queued at shutdown.
 */
export type ForwardLoss = 'rejected' | 'refused' | 'export_failed' | 'queue_full' | 'too_large' | 'shutdown';

/** Where the forward stage's outcomes are counted (the collector's self-metrics). */
export interface ForwardReport {
  exported(result: ForwardResult): void;
  lost(points: number, reason: ForwardLoss): void;
}

export interface ForwardExporterSettings {
  readonly upstream: Upstream;
  readonly temporality: 'cumulative' | 'delta';
  readonly limits: RequestLimits;
  /** Delta points kept for a retry after a failed export; past it the oldest are dropped. */
  readonly queuePoints: number;
  readonly report: ForwardReport;
  readonly logger: Logger;
}

export interface ForwardExporter extends PushMetricExporter {
  /** Points waiting for the upstream: queued for a retry, or being sent. */
  queuedPoints(): number;
}

/** The upstream's own words, cut short: enough to say what went wrong, not a log line's worth of data. */
function excerpt(message: string): string {
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}

/**
 * Exports each collection as requests that fit the upstream's limits, one at a time and in order, so
 * a collection is complete upstream or said not to be. Delta data a request could not deliver (the
 * upstream down or failing past the transport's retries) stays queued, in order, and goes first at
 * the next interval: an upstream that sums would otherwise miss it for good, and one that turns deltas
 * into totals drops points older than the newest it has seen. Cumulative data is never queued: the next
 * collection carries the same totals and more.
 * `export` only queues and answers at once; the sending runs behind it, and forceFlush and shutdown
 * wait for it. That keeps the periodic reader's timeout (meant for one request) out of a collection
 * that takes many.
 */
export function createForwardExporter(settings: ForwardExporterSettings): ForwardExporter {
  const { upstream, report, logger } = settings;
  const delta = settings.temporality === 'delta';
  const queue = createRetryQueue();
  let sendingPoints = 0;
  let sending: Promise<void> = Promise.resolve();
  /** Set while the upstream fails, so its return is logged once. */
  let failing = false;
  const oversizeLogged = new Set<string>();

  function enqueue(requests: readonly ForwardRequest[]): void {
    if (!delta) {
      // Totals not sent yet (the previous collection still going out to a slow upstream): these supersede them.
      const superseded = queue.clear();
      if (superseded > 0) {
        report.lost(superseded, 'export_failed');
      }
    }
    queue.push(requests);
  }

  /** Sends what is queued, oldest first, until the queue is empty or the upstream fails. */
  async function drain(): Promise<void> {
    for (let request = queue.shift(); request !== undefined; request = queue.shift()) {
      sendingPoints = request.points;
      const answer = await upstream.send(request);
      sendingPoints = 0;
      if (answer.delivered) {
        report.exported(answer.rejected > 0 ? 'partial' : 'ok');
        if (answer.rejected > 0) {
          report.lost(answer.rejected, 'rejected');
          logger.warn(
            { rejected: answer.rejected, points: request.points, upstreamMessage: excerpt(answer.message) },
            'the upstream rejected points of an export (partial success)'
          );
        }
        continue;
      }
      report.exported('failed');
      if (!answer.retryable) {
        report.lost(request.points, 'refused');
        logger.error(
          { status: answer.status, error: excerpt(answer.error), points: request.points },
          answer.status === 413
            ? 'the upstream refused an export as too large: lower forward.maxBytesPerRequest to its body limit'
            : 'the upstream refused an export'
        );
        continue;
      }
      failing = true;
      if (delta) {
        queue.unshift(request);
        const dropped = queue.trim(settings.queuePoints);
        if (dropped > 0) {
          report.lost(dropped, 'queue_full');
        }
        logger.warn(
          { status: answer.status, error: excerpt(answer.error), queuedPoints: queue.points, droppedPoints: dropped },
          'export to the upstream failed: its points are kept for the next interval, up to forward.queuePoints'
        );
      } else {
        const points = request.points + queue.clear();
        report.lost(points, 'export_failed');
        logger.warn(
          { status: answer.status, error: excerpt(answer.error), points },
          'export to the upstream failed: the next export carries the totals'
        );
      }
      return;
    }
    if (failing) {
      failing = false;
      logger.info('the upstream takes exports again');
    }
  }

  async function settled(): Promise<void> {
    // Exports may queue more sending while this waits.
    for (let current = sending; ; current = sending) {
      await current;
      if (current === sending) {
        return;
      }
    }
  }

  return {
    export(metrics, done) {
      const { requests, oversize } = splitRequests(metrics, settings.limits);
      for (const point of oversize) {
        report.lost(1, 'too_large');
        if (oversizeLogged.has(point.metric)) {
          continue;
        }
        oversizeLogged.add(point.metric);
        logger.warn(
          { metric: point.metric, bytes: point.bytes, maxBytesPerRequest: settings.limits.maxBytes },
          'a point is too large for any request to the upstream: it is not forwarded (logged once per metric)'
        );
      }
      enqueue(requests);
      sending = sending.then(drain).catch((err: unknown) => logger.error({ err }, 'forwarding failed'));
      done({ code: ExportResultCode.SUCCESS });
    },
    forceFlush: settled,
    async shutdown() {
      await settled();
      const left = queue.clear();
      if (left > 0) {
        report.lost(left, 'shutdown');
        logger.error({ points: left }, 'queued points could not be forwarded before shutdown');
      }
      await upstream.shutdown();
    },
    queuedPoints: () => queue.points + sendingPoints,
  };
}
