import { ExportResultCode } from '@opentelemetry/core';
import { AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricProducer,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { caBundle } from '../tls.js';
import { cumulativeToDelta } from './cumulative-to-delta.js';

export interface ForwardSettings {
  /** The upstream's OTLP/HTTP metrics URL, e.g. http://otel-gateway:4318/v1/metrics. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: 'gzip' | 'none';
  /** cumulative for a gateway that writes to Prometheus; delta for an upstream that sums (another footfall collector). */
  readonly temporality: 'cumulative' | 'delta';
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly tls: { readonly caFile?: string | undefined; readonly insecureSkipVerify: boolean };
  /** The meter whose metrics are forwarded (the catalog's); the collector's own health stays local. */
  readonly meterName: string;
  /** Series derived from others for the old server's users: the upstream can derive them itself. */
  readonly derivedNames: ReadonlySet<string>;
  /** The catalog's data, cumulative (counters and histograms). */
  readonly catalog: MetricProducer;
  /** The forwarded resource's attributes (service.name, service.version, service.instance.id). */
  readonly resource: Readonly<Record<string, string>>;
  /** Each export's outcome: points sent, and whether the upstream took them. */
  readonly onExport: (points: number, delivered: boolean) => void;
}

export interface Forwarder {
  /** Exports what is pending now. */
  forceFlush(): Promise<void>;
  /** A last export, then stops. */
  shutdown(): Promise<void>;
}

/**
 * The forward stage: a periodic reader of the catalog's data that exports what the collector
 * aggregated, after privacy and limits, as OTLP/HTTP protobuf to an upstream OTel Collector.
 * The SDK's exporter retries 429/502/503/504 with back-off and honours Retry-After within its timeout;
 * an export that still fails is counted (a cumulative upstream loses nothing by it: the next export
 * carries the totals).
 */
export function createForwarder(settings: ForwardSettings): Forwarder {
  const ca = caBundle(settings.tls.caFile, 'forward.tls.caFile');
  const upstream = new OTLPMetricExporter({
    url: settings.url,
    headers: { ...settings.headers },
    compression: settings.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
    temporalityPreference:
      settings.temporality === 'delta' ? AggregationTemporalityPreference.DELTA : AggregationTemporalityPreference.CUMULATIVE,
    timeoutMillis: settings.timeoutMs,
    httpAgentOptions: { keepAlive: true, ca, rejectUnauthorized: !settings.tls.insecureSkipVerify },
  });

  const exporter: PushMetricExporter = {
    export(metrics, done) {
      const { forwarded, points } = selectForwarded(metrics, settings);
      if (points === 0) return done({ code: ExportResultCode.SUCCESS });
      upstream.export(forwarded, (result) => {
        settings.onExport(points, result.code === ExportResultCode.SUCCESS);
        done(result);
      });
    },
    forceFlush: () => upstream.forceFlush(),
    shutdown: () => upstream.shutdown(),
    selectAggregationTemporality: (kind) => upstream.selectAggregationTemporality!(kind),
  };

  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: settings.intervalMs,
    exportTimeoutMillis: Math.min(settings.timeoutMs, settings.intervalMs),
    metricProducers: [settings.temporality === 'delta' ? cumulativeToDelta(settings.catalog) : settings.catalog],
  });
  // A provider of its own, with no instruments: it gives the reader its schedule and the forwarded data its resource.
  const provider = new MeterProvider({ resource: resourceFromAttributes(settings.resource), readers: [reader] });
  return {
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

function selectForwarded(metrics: ResourceMetrics, settings: ForwardSettings): { forwarded: ResourceMetrics; points: number } {
  let points = 0;
  const scopeMetrics = metrics.scopeMetrics
    .filter((scope) => scope.scope.name === settings.meterName)
    .map((scope) => {
      const kept = scope.metrics.filter((m) => !settings.derivedNames.has(m.descriptor.name) && m.dataPoints.length > 0);
      for (const m of kept) points += m.dataPoints.length;
      return { ...scope, metrics: kept };
    })
    .filter((scope) => scope.metrics.length > 0);
  return { forwarded: { ...metrics, scopeMetrics }, points };
}
