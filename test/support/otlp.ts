import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import {
  AggregationTemporalityPreference,
  OTLPMetricExporter as JsonExporter,
} from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtobufExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { METRIC_CATALOG } from '../../packages/collector/src/index.ts';

export type Encoding = 'json' | 'protobuf';

/** The catalog's bucket boundaries for a histogram metric (the panel records with exactly these). */
export function catalogBuckets(name: string): number[] {
  const metric = METRIC_CATALOG.find((m) => m.name === name);
  if (metric?.buckets === undefined) throw new Error(`${name} is not a histogram in the catalog`);
  return [...metric.buckets];
}

/** The panel's instruments, created as the panel creates them (names, units, bucket advice). */
export interface DashboardInstruments {
  readonly sessions: Counter;
  readonly engagedTime: Counter;
  readonly heartbeats: Counter;
  readonly sessionDuration: Histogram;
  readonly variableSelections: Counter;
  readonly timeRangeSelections: Counter;
  readonly queries: Counter;
  readonly queryErrors: Counter;
  readonly queryDuration: Histogram;
}

/**
 * One simulated browser tab: its own MeterProvider and OTLP/HTTP exporter (JSON or protobuf) with
 * DELTA temporality, exporting only when flushed.
 */
export interface SimulatedBrowser {
  readonly meter: Meter;
  readonly instruments: DashboardInstruments;
  /** Exports what was recorded since the last flush; rejects when the export fails. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export function simulatedBrowser(collectorUrl: string, encoding: Encoding, resource: Attributes = {}): SimulatedBrowser {
  const options = {
    url: `${collectorUrl}/v1/metrics`,
    temporalityPreference: AggregationTemporalityPreference.DELTA,
    timeoutMillis: 5_000,
  };
  const exporter = encoding === 'json' ? new JsonExporter(options) : new ProtobufExporter(options);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000, exportTimeoutMillis: 5_000 });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'grafana-footfall-panel', ...resource }),
    readers: [reader],
  });
  const meter = provider.getMeter('footfall-panel', '1.0.0');
  const counter = (name: string): Counter => {
    const m = METRIC_CATALOG.find((c) => c.name === name)!;
    return meter.createCounter(name, { unit: m.unit, description: m.description });
  };
  const histogram = (name: string): Histogram => {
    const m = METRIC_CATALOG.find((c) => c.name === name)!;
    return meter.createHistogram(name, {
      unit: m.unit,
      description: m.description,
      advice: { explicitBucketBoundaries: catalogBuckets(name) },
    });
  };
  return {
    meter,
    instruments: {
      sessions: counter('grafana.dashboard.sessions'),
      engagedTime: counter('grafana.dashboard.engaged_time'),
      heartbeats: counter('grafana.dashboard.heartbeats'),
      sessionDuration: histogram('grafana.dashboard.session.duration'),
      variableSelections: counter('grafana.dashboard.variable.selections'),
      timeRangeSelections: counter('grafana.dashboard.time_range.selections'),
      queries: counter('grafana.dashboard.queries'),
      queryErrors: counter('grafana.dashboard.query.errors'),
      queryDuration: histogram('grafana.dashboard.query.duration'),
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/* ---- Hand-built OTLP/JSON, for input the SDK would never produce ---- */

export type AttributeValue = string | number | boolean;

export interface JsonKeyValue {
  readonly key: string;
  readonly value: Record<string, string | number | boolean>;
}

/** An OTLP KeyValue: strings as stringValue, booleans as boolValue, integers as intValue (a string, as int64 is), other numbers as doubleValue. */
export function kv(key: string, value: AttributeValue): JsonKeyValue {
  if (typeof value === 'string') return { key, value: { stringValue: value } };
  if (typeof value === 'boolean') return { key, value: { boolValue: value } };
  if (Number.isSafeInteger(value)) return { key, value: { intValue: String(value) } };
  return { key, value: { doubleValue: value } };
}

export function attrs(entries: ReadonlyArray<readonly [string, AttributeValue]>): JsonKeyValue[] {
  return entries.map(([k, v]) => kv(k, v));
}

export interface JsonMetric {
  readonly name: string;
  readonly unit?: string;
  readonly sum?: unknown;
  readonly histogram?: unknown;
}

/** A DELTA monotonic sum with one point per entry. */
export function deltaSum(name: string, points: ReadonlyArray<{ value: number; attributes: JsonKeyValue[] }>): JsonMetric {
  return {
    name,
    sum: {
      aggregationTemporality: 1,
      isMonotonic: true,
      dataPoints: points.map((p) => ({
        ...(Number.isInteger(p.value) ? { asInt: String(p.value) } : { asDouble: p.value }),
        attributes: p.attributes,
        timeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
      })),
    },
  };
}

/** A DELTA histogram on the catalog's buckets; each point holds the given observations. */
export function deltaHistogram(
  name: string,
  points: ReadonlyArray<{ observations: readonly number[]; attributes: JsonKeyValue[] }>,
): JsonMetric {
  const bounds = catalogBuckets(name);
  return {
    name,
    histogram: {
      aggregationTemporality: 1,
      dataPoints: points.map((p) => {
        const bucketCounts = new Array<number>(bounds.length + 1).fill(0);
        for (const o of p.observations) {
          const i = bounds.findIndex((b) => o <= b);
          bucketCounts[i === -1 ? bounds.length : i]!++;
        }
        return {
          attributes: p.attributes,
          count: String(p.observations.length),
          sum: p.observations.reduce((a, b) => a + b, 0),
          bucketCounts: bucketCounts.map(String),
          explicitBounds: bounds,
        };
      }),
    },
  };
}

export function exportRequest(metrics: readonly JsonMetric[], resource: JsonKeyValue[] = []): unknown {
  return {
    resourceMetrics: [{ resource: { attributes: resource }, scopeMetrics: [{ scope: { name: 'footfall-panel' }, metrics }] }],
  };
}

export interface ExportResponse {
  readonly status: number;
  readonly body: { partialSuccess?: { rejectedDataPoints?: string | number; errorMessage?: string } } & Record<string, unknown>;
}

/** POSTs an OTLP/JSON body to /v1/metrics. `body` may be a string to send bytes JSON.stringify would not. */
export async function postJson(collectorUrl: string, body: unknown): Promise<ExportResponse> {
  const res = await fetch(`${collectorUrl}/v1/metrics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as ExportResponse['body']) };
}

/** Points the collector refused in an export response (0 when there is no partial success). */
export function rejectedPoints(response: ExportResponse): number {
  return Number(response.body.partialSuccess?.rejectedDataPoints ?? 0);
}
