import { ExportResultCode } from '@opentelemetry/core';
import { AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import {
  PeriodicExportingMetricReader,
  type MetricProducer,
  type MetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { caBundle } from '../tls.js';
import { histogramDeltas } from './histogram-deltas.js';

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
  /** The histogram store, which the SDK cannot aggregate. */
  readonly histograms: MetricProducer;
  /** Each export's outcome: points sent, and whether the upstream took them. */
  readonly onExport: (points: number, delivered: boolean) => void;
}

/**
 * The forward stage: a second reader on the collector's MeterProvider that exports what the
 * collector aggregated, after privacy and limits, as OTLP/HTTP protobuf to an upstream OTel Collector.
 * The SDK's exporter retries 429/502/503/504 with back-off and honours Retry-After within its timeout;
 * an export that still fails is counted (a cumulative upstream loses nothing by it: the next export
 * carries the totals).
 */
export function createForwardReader(settings: ForwardSettings): MetricReader {
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

  return new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: settings.intervalMs,
    exportTimeoutMillis: Math.min(settings.timeoutMs, settings.intervalMs),
    metricProducers: [settings.temporality === 'delta' ? histogramDeltas(settings.histograms) : settings.histograms],
  });
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
