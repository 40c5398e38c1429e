import type { Attributes, Counter, Histogram } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporalityPreference,
  OTLPMetricExporter as JsonMetricExporter,
} from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtobufMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type AggregationOption,
  type AggregationTemporality,
  type InstrumentType,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { catalogBuckets, catalogMetric, PANEL_SCOPE_NAME, PANEL_SERVICE_NAME } from './otlp.ts';

export type Protocol = 'json' | 'protobuf';

export interface BrowserOptions {
  /** Collector base URL; the exporter posts to `${url}/v1/metrics`. */
  readonly url: string;
  readonly protocol: Protocol;
  readonly gzip?: boolean;
  /** DELTA is what the panel uses and what the collector accepts. */
  readonly temporality?: 'delta' | 'cumulative';
  /** Resource attributes, beside service.name. */
  readonly resource?: Attributes;
}

/**
 * A browser tab running the panel, with the panel's nine instruments recorded exactly as the panel
 * does (catalog names, units, bucket advice).
 */
export interface SimulatedBrowser {
  readonly protocol: Protocol;
  readonly sessions: Counter;
  readonly engagedTime: Counter;
  readonly heartbeats: Counter;
  readonly sessionDuration: Histogram;
  readonly variableSelections: Counter;
  readonly timeRangeSelections: Counter;
  readonly queries: Counter;
  readonly queryErrors: Counter;
  readonly queryDuration: Histogram;
  /** Every export the SDK made so far, in order (one HTTP request each). */
  readonly exports: readonly ExportResult[];
  /**
   * One export cycle (PeriodicExportingMetricReader.forceFlush). The reader swallows export failures
   * into the global error handler, so this checks the recorded results and throws if one failed.
   * Resolves with the number of exports the cycle made.
   */
  flush(): Promise<number>;
  shutdown(): Promise<void>;
}

/** Wraps the real OTLP exporter and keeps each export's result, which the reader does not surface. */
class RecordingExporter implements PushMetricExporter {
  readonly results: ExportResult[] = [];
  constructor(private readonly inner: PushMetricExporter) {}

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    this.inner.export(metrics, (result) => {
      this.results.push(result);
      resultCallback(result);
    });
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  selectAggregationTemporality(instrumentType: InstrumentType): AggregationTemporality {
    return this.inner.selectAggregationTemporality!(instrumentType);
  }
  selectAggregation(instrumentType: InstrumentType): AggregationOption {
    return this.inner.selectAggregation!(instrumentType);
  }
}

/** A browser tab running the panel: its own MeterProvider, reader and real OTLP/HTTP exporter. */
export function createBrowser(options: BrowserOptions): SimulatedBrowser {
  const exporterOptions = {
    url: `${options.url}/v1/metrics`,
    temporalityPreference:
      options.temporality === 'cumulative'
        ? AggregationTemporalityPreference.CUMULATIVE
        : AggregationTemporalityPreference.DELTA,
    compression: options.gzip ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
    // Keep-alive sockets would outlive the collector between suites.
    keepAlive: false,
    timeoutMillis: 5_000,
  };
  const exporter = new RecordingExporter(
    options.protocol === 'json' ? new JsonMetricExporter(exporterOptions) : new ProtobufMetricExporter(exporterOptions)
  );
  const reader = new PeriodicExportingMetricReader({
    exporter,
    // Never fires during a test: cycles are driven by flush().
    exportIntervalMillis: 3_600_000,
    exportTimeoutMillis: 10_000,
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': PANEL_SERVICE_NAME, ...options.resource }),
    readers: [reader],
  });
  const meter = provider.getMeter(PANEL_SCOPE_NAME, '1.0.0');
  const counter = (name: string): Counter => {
    const m = catalogMetric(name);
    return meter.createCounter(m.name, { unit: m.unit, description: m.description });
  };
  const histogram = (name: string): Histogram => {
    const m = catalogMetric(name);
    return meter.createHistogram(m.name, {
      unit: m.unit,
      description: m.description,
      advice: { explicitBucketBoundaries: catalogBuckets(name) },
    });
  };

  return {
    protocol: options.protocol,
    sessions: counter('grafana.dashboard.sessions'),
    engagedTime: counter('grafana.dashboard.engaged_time'),
    heartbeats: counter('grafana.dashboard.heartbeats'),
    sessionDuration: histogram('grafana.dashboard.session.duration'),
    variableSelections: counter('grafana.dashboard.variable.selections'),
    timeRangeSelections: counter('grafana.dashboard.time_range.selections'),
    queries: counter('grafana.dashboard.queries'),
    queryErrors: counter('grafana.dashboard.query.errors'),
    queryDuration: histogram('grafana.dashboard.query.duration'),
    exports: exporter.results,
    async flush() {
      const before = exporter.results.length;
      await reader.forceFlush();
      const cycle = exporter.results.slice(before);
      const failed = cycle.find((r) => r.code !== ExportResultCode.SUCCESS);
      if (failed) {
        throw new Error(`export failed: ${failed.error?.message ?? 'unknown error'}`);
      }
      return cycle.length;
    },
    shutdown: () => provider.shutdown(),
  };
}
