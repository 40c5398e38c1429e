/**
 * The panel's metrics pipeline: one MeterProvider per page, never registered as the global provider
 * (the window is shared with Grafana and every other plugin), DELTA temporality, a periodic reader,
 * and the durable exporter that keeps what could not be delivered.
 */
import type { Attributes } from '@opentelemetry/api';
import { OTLPMetricExporterBase, AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import { createOtlpNetworkExportDelegate, ExporterMetrics } from '@opentelemetry/otlp-exporter-base';
import { JsonMetricsSerializer, MetricsExporterMetricsHelper } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { capText } from './cap-text.ts';
import { createDurableExporter, type DeliveryStatus } from './durable-exporter.ts';
import { createRecorder, type Recorder } from './instruments.ts';
import { PANEL_SCOPE_NAME } from './names.ts';
import { createOutbox } from './outbox.ts';
import { createFetchTransport } from './transport.ts';

export interface PanelMeterSettings {
  readonly endpoint: string;
  readonly exportIntervalMs: number;
  readonly resource: Attributes;
  readonly version: string;
  /** sessionStorage in a page; undefined where there is none. */
  readonly storage: Storage | undefined;
  readonly fetch: typeof fetch;
  readonly now: () => number;
}

export interface PanelMeter {
  readonly recorder: Recorder;
  /** Collects and sends now, without waiting; `pageGoingAway` from pagehide (until `resumed`). */
  flush(pageGoingAway: boolean): void;
  /** The page came back from the back/forward cache. */
  resumed(): void;
  status(): DeliveryStatus;
  shutdown(): Promise<void>;
}

/** Pending points are kept per tab under this key (the tab's sessionStorage). */
export const OUTBOX_STORAGE_KEY = 'footfall.outbox';
const EXPORT_TIMEOUT_MS = 10_000;

export function createPanelMeter(settings: PanelMeterSettings): PanelMeter {
  const resource = resourceFromAttributes(
    Object.fromEntries(Object.entries(settings.resource).map(([k, v]) => [k, typeof v === 'string' ? capText(v) : v]))
  );
  let unloading = false;
  const transport = createFetchTransport({
    url: settings.endpoint,
    headers: { 'Content-Type': 'application/json' },
    fetch: settings.fetch,
    now: settings.now,
    unloading: () => unloading,
  });
  const delegate = createOtlpNetworkExportDelegate(
    { timeoutMillis: EXPORT_TIMEOUT_MS, concurrencyLimit: 16, compression: 'none' },
    JsonMetricsSerializer,
    new ExporterMetrics({
      componentType: 'footfall_panel_exporter',
      metricsHelper: MetricsExporterMetricsHelper,
      url: settings.endpoint,
      // No self-telemetry: a meter provider here would be another thing sent from every browser.
      meterProvider: undefined,
      responseAttributesFromError: () => ({}),
    }),
    transport
  );
  const otlp = new OTLPMetricExporterBase(delegate, { temporalityPreference: AggregationTemporalityPreference.DELTA });
  const outbox = createOutbox({ storage: settings.storage, storageKey: OUTBOX_STORAGE_KEY, maxSeries: 500 });
  const exporter = createDurableExporter({
    inner: otlp,
    outbox,
    template: { resource, scope: { name: PANEL_SCOPE_NAME, version: settings.version } },
    maxPointsPerRequest: 40,
    maxConcurrent: 2,
    now: settings.now,
    setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  });
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: settings.exportIntervalMs,
    exportTimeoutMillis: Math.min(EXPORT_TIMEOUT_MS, settings.exportIntervalMs),
  });
  const provider = new MeterProvider({ resource, readers: [reader] });
  const recorder = createRecorder(provider.getMeter(PANEL_SCOPE_NAME, settings.version));

  // Points left by the previous page of this tab (a reload during an outage) go out now.
  exporter.send();

  return {
    recorder,
    flush(pageGoingAway) {
      // Only pageshow clears it: `visibilitychange` → hidden may follow pagehide in the same unload.
      if (pageGoingAway) {
        unloading = true;
        exporter.setUnloading(true);
        // From here the next page of this tab may send what is pending; a duplicate of the tab may not.
        outbox.release();
      }
      // forceFlush resolves even when the export fails; failures are the exporter's to keep and report.
      reader.forceFlush().catch(() => undefined);
    },
    resumed() {
      unloading = false;
      exporter.setUnloading(false);
      outbox.reclaim();
    },
    status: () => exporter.status(),
    shutdown: () => provider.shutdown().catch(() => undefined),
  };
}
