/**
 * The exporter the panel's metric reader talks to. Every export goes into the outbox first (so the
 * reader is told "success" once the counts are safe), then the outbox is sent through the OTLP
 * exporter in bodies small enough for keepalive. A failed body goes back into the outbox and is merged
 * into the next export; `Retry-After` holds sending back until it has passed.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  type PushMetricExporter,
  type ResourceMetrics,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import type { Outbox } from './outbox.ts';
import { DeliveryError } from './transport.ts';

export interface DeliveryStatus {
  /** Epoch ms of the last body the collector accepted. */
  readonly lastSuccessAt: number | undefined;
  /** The last failure, cleared by the next success. */
  readonly lastError: string | undefined;
  /** Series waiting in the outbox. */
  readonly pending: number;
  /** Series given up on: refused by the collector as malformed, or beyond the outbox's bound. */
  readonly dropped: number;
  /** Bodies the collector accepted since the page loaded. */
  readonly delivered: number;
}

export interface DurableExporterSettings {
  /** The OTLP exporter that serializes and sends one body. */
  readonly inner: PushMetricExporter;
  readonly outbox: Outbox;
  /** Resource and scope of every body; pending points outlive the export they came from. */
  readonly template: Pick<ResourceMetrics, 'resource'> & Pick<ScopeMetrics, 'scope'>;
  /** Points per body: the catalog's widest point is well under 1 KB of JSON, so 40 stay far below 60 KB. */
  readonly maxPointsPerRequest: number;
  /** Bodies in flight at once. */
  readonly maxConcurrent: number;
  readonly now: () => number;
  readonly setTimeout: (fn: () => void, ms: number) => unknown;
  readonly clearTimeout: (handle: unknown) => void;
}

export interface DurableExporter extends PushMetricExporter {
  /** Sends what is pending now, unless `Retry-After` says to wait. */
  send(): void;
  /**
   * The page is going away (true) or was restored from the back/forward cache (false). While it goes
   * away no answer will be seen, so nothing is sent while the collector is known to be failing: the
   * points stay in sessionStorage for a reload instead of being lost in a request nobody watches.
   */
  setUnloading(unloading: boolean): void;
  status(): DeliveryStatus;
}

/** Back-off after failures without `Retry-After`: 2 s, 4 s, … up to a minute. */
function backoffMs(failures: number): number {
  return Math.min(60_000, 2_000 * 2 ** Math.max(0, failures - 1));
}

export function createDurableExporter(settings: DurableExporterSettings): DurableExporter {
  const { inner, outbox } = settings;
  let inFlight = 0;
  let notBefore = 0;
  let failures = 0;
  let retryTimer: unknown;
  let lastSuccessAt: number | undefined;
  let lastError: string | undefined;
  let rejected = 0;
  let delivered = 0;
  let shutDown = false;
  let unloading = false;

  function scheduleRetry(): void {
    if (retryTimer !== undefined || shutDown || outbox.size === 0) {
      return;
    }
    const delay = Math.max(notBefore - settings.now(), backoffMs(failures));
    retryTimer = settings.setTimeout(() => {
      retryTimer = undefined;
      send();
    }, delay);
  }

  function settle(points: ReturnType<Outbox['take']>, result: ExportResult): void {
    inFlight -= 1;
    if (result.code === ExportResultCode.SUCCESS) {
      failures = 0;
      lastError = undefined;
      lastSuccessAt = settings.now();
      delivered += 1;
      send();
      return;
    }
    const error = result.error;
    lastError = error?.message ?? 'export failed';
    if (error instanceof DeliveryError && !error.retryable) {
      // The collector will refuse these points however often they are sent.
      rejected += points.length;
      return;
    }
    failures += 1;
    if (error instanceof DeliveryError && error.retryAfterMs !== undefined) {
      notBefore = Math.max(notBefore, settings.now() + error.retryAfterMs);
    }
    outbox.restore(points);
    scheduleRetry();
  }

  function send(): void {
    if (shutDown) {
      return;
    }
    const waiting = settings.now() < notBefore;
    if (waiting || (unloading && failures > 0)) {
      if (!unloading) {
        scheduleRetry();
      }
      return;
    }
    // While unloading there is no later: everything goes now, in as many keepalive bodies as it takes.
    while (outbox.size > 0 && (inFlight < settings.maxConcurrent || unloading)) {
      const points = outbox.take(settings.maxPointsPerRequest);
      let body: ResourceMetrics;
      try {
        body = outbox.toResourceMetrics(points, settings.template);
      } catch (e) {
        // Points that cannot even be serialised would fail the same way on every retry.
        rejected += points.length;
        lastError = `unsendable points dropped: ${e instanceof Error ? e.message : String(e)}`;
        continue;
      }
      inFlight += 1;
      try {
        inner.export(body, (result) => settle(points, result));
      } catch (e) {
        settle(points, { code: ExportResultCode.FAILED, error: e instanceof Error ? e : new Error(String(e)) });
      }
      // After a failure the rest waits for the retry rather than fail body after body.
      if (failures > 0) {
        break;
      }
    }
  }

  return {
    export(metrics, resultCallback) {
      if (shutDown) {
        resultCallback({ code: ExportResultCode.FAILED, error: new Error('exporter is shut down') });
        return;
      }
      outbox.add(metrics);
      resultCallback({ code: ExportResultCode.SUCCESS });
      send();
    },
    send,
    setUnloading(value) {
      unloading = value;
    },
    async forceFlush() {
      await inner.forceFlush();
    },
    async shutdown() {
      shutDown = true;
      if (retryTimer !== undefined) {
        settings.clearTimeout(retryTimer);
      }
      await inner.shutdown();
    },
    selectAggregationTemporality() {
      return AggregationTemporality.DELTA;
    },
    status() {
      return { lastSuccessAt, lastError, pending: outbox.size, dropped: outbox.dropped + rejected, delivered };
    },
  };
}
