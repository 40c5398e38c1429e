import { hrTime } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type CollectionResult,
  type DataPoint,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import { cumulativeToDelta } from './cumulative-to-delta.js';
import { createForwardExporter, type ForwardReport } from './forward-exporter.js';
import { createUpstream, type UpstreamSettings } from './upstream.js';

export interface ForwardSettings extends UpstreamSettings {
  /** cumulative for a gateway that writes to Prometheus; delta for an upstream that sums (another footfall collector). */
  readonly temporality: 'cumulative' | 'delta';
  readonly intervalMs: number;
  /** Per request: the upstream's limits (a footfall collector's limits.maxPointsPerRequest and server.maxBodyBytes). */
  readonly maxPointsPerRequest: number;
  /** Protobuf bytes before compression. */
  readonly maxBytesPerRequest: number;
  /** Delta points kept for a retry after a failed export. */
  readonly queuePoints: number;
  /** The meter whose metrics are forwarded (the catalog's); the collector's own health stays local. */
  readonly meterName: string;
  /** Series derived from others for the old server's users: the upstream can derive them itself. */
  readonly derivedNames: ReadonlySet<string>;
  /** The catalog's data, cumulative (counters and histograms). */
  readonly catalog: MetricProducer;
  /** The forwarded resource's attributes (service.name, service.version, service.instance.id). */
  readonly resource: Readonly<Record<string, string>>;
  readonly report: ForwardReport;
  readonly logger: Logger;
}

export interface Forwarder {
  /** Exports what is pending now, the queue first. */
  forceFlush(): Promise<void>;
  /** A last export, then stops. */
  shutdown(): Promise<void>;
  /** Points waiting for the upstream (failed delta exports queued for a retry, the request being sent). */
  queuedPoints(): number;
}

/**
 * The forward stage: a periodic reader of the catalog's data that exports what the collector
 * aggregated, after privacy and limits, as OTLP/HTTP protobuf to an upstream OTel Collector or footfall
 * collector, in requests that fit its limits (forward-exporter.ts says what happens to each).
 */
export function createForwarder(settings: ForwardSettings): Forwarder {
  const exporter = createForwardExporter({
    upstream: createUpstream(settings),
    temporality: settings.temporality,
    limits: { maxPoints: settings.maxPointsPerRequest, maxBytes: settings.maxBytesPerRequest },
    queuePoints: settings.queuePoints,
    report: settings.report,
    logger: settings.logger,
  });
  const forwarded = selectForwarded(settings.catalog, settings.meterName, settings.derivedNames);
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: settings.intervalMs,
    // The exporter answers at once and sends behind it: the timeout only bounds the collection.
    exportTimeoutMillis: settings.intervalMs,
    metricProducers: [settings.temporality === 'delta' ? cumulativeToDelta(forwarded) : forwarded],
  });
  // A provider of its own, with no instruments: it gives the reader its schedule and the forwarded data its resource.
  const provider = new MeterProvider({ resource: resourceFromAttributes(settings.resource), readers: [reader] });
  return {
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
    queuedPoints: () => exporter.queuedPoints(),
  };
}

/**
 * The catalog's metrics without the derived series, every point ending at this collection: the stores
 * end a point when its total last changed, and a cumulative series sent upstream with an old time
 * would look stale to Prometheus behind the gateway. The catalog's scope is always there, if empty, so
 * that every interval reaches the exporter and a queue left by a failed export is retried even when
 * nothing new arrived.
 */
function selectForwarded(
  catalog: MetricProducer,
  meterName: string,
  derivedNames: ReadonlySet<string>
): MetricProducer {
  return {
    async collect(options): Promise<CollectionResult> {
      const result = await catalog.collect(options);
      const endTime = hrTime();
      const scopes = result.resourceMetrics.scopeMetrics.filter((scope) => scope.scope.name === meterName);
      const scopeMetrics = (scopes.length > 0 ? scopes : [{ scope: { name: meterName }, metrics: [] }]).map(
        (scope) => ({
          ...scope,
          metrics: scope.metrics
            .filter((m) => !derivedNames.has(m.descriptor.name) && m.dataPoints.length > 0)
            .map(
              (m) =>
                ({ ...m, dataPoints: m.dataPoints.map((p: DataPoint<unknown>) => ({ ...p, endTime })) }) as MetricData
            ),
        })
      );
      return { ...result, resourceMetrics: { ...result.resourceMetrics, scopeMetrics } };
    },
  };
}
