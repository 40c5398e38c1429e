import type { Meter } from '@opentelemetry/api';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { METRIC_CATALOG } from '../packages/collector/dist/index.js';

/**
 * Request bodies made by the real OTel JS SDK and its OTLP serializers, so the collector sees exactly
 * the bytes a browser exporter would send (field order, int64 as strings, resource and scope blocks),
 * not a hand-written approximation that might decode faster or slower.
 */

export type Encoding = 'json' | 'protobuf';

export interface Body {
  readonly name: string;
  readonly encoding: Encoding;
  readonly contentType: string;
  readonly bytes: Buffer;
  /** Data points in the request: what "points/s" is counted in. */
  readonly points: number;
}

export const CONTENT_TYPE: Readonly<Record<Encoding, string>> = {
  json: 'application/json',
  protobuf: 'application/x-protobuf',
};

/** The collector refuses non-DELTA sums and histograms, so the reader must ask the SDK for deltas. */
class DeltaReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** What a Grafana panel in a browser would put on its resource. */
const PANEL_RESOURCE = {
  'service.name': 'footfall-panel',
  'service.version': '0.1.0',
  'telemetry.sdk.language': 'webjs',
  'telemetry.sdk.name': 'opentelemetry',
};

const SCOPE = 'footfall-panel';

function bucketsOf(name: string): number[] {
  const metric = METRIC_CATALOG.find((m) => m.name === name);
  if (!metric?.buckets) {
    throw new Error(`${name} is not a catalog histogram`);
  }
  return [...metric.buckets];
}

/** Records through a fresh SDK pipeline and returns one DELTA collection, as an exporter would send it. */
async function collect(record: (meter: Meter) => void): Promise<ResourceMetrics> {
  const reader = new DeltaReader();
  const provider = new MeterProvider({ resource: resourceFromAttributes(PANEL_RESOURCE), readers: [reader] });
  record(provider.getMeter(SCOPE, '0.1.0'));
  const { resourceMetrics, errors } = await reader.collect();
  if (errors.length > 0) {
    throw new AggregateError(errors, 'SDK collection failed');
  }
  await provider.shutdown();
  return resourceMetrics;
}

function serialize(resourceMetrics: ResourceMetrics, encoding: Encoding): Buffer {
  const serializer = encoding === 'json' ? JsonMetricsSerializer : ProtobufMetricsSerializer;
  const bytes = serializer.serializeRequest(resourceMetrics);
  if (!bytes) {
    throw new Error(`the ${encoding} serializer returned nothing`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function countPoints(resourceMetrics: ResourceMetrics): number {
  let points = 0;
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      points += metric.dataPoints.length;
    }
  }
  return points;
}

/** Seven attributes a panel sets on a dashboard-level point; all survive the default privacy policy. */
function dashboardAttributes(dashboard: number, role: string): Record<string, string> {
  return {
    'dashboard.uid': `ad${String(dashboard).padStart(6, '0')}x`,
    'dashboard.name': `Kubernetes / Namespace (Pods) ${dashboard}`,
    'dashboard.timezone': 'browser',
    'grafana.host': 'grafana.example.internal',
    'grafana.env': 'production',
    'user.role': role,
    'user.theme': 'dark',
  };
}

const ROLES = ['Viewer', 'Editor', 'Admin'] as const;

/** One session start: the smallest request a panel sends, ~1 KiB as JSON. */
async function smallRequest(): Promise<ResourceMetrics> {
  return collect((meter) => {
    meter.createCounter('grafana.dashboard.sessions', { unit: '{session}' }).add(1, dashboardAttributes(1, 'Viewer'));
  });
}

/**
 * A busy panel's periodic export: 20 points over four instruments (sessions, engaged time by state,
 * heartbeats and a session-duration histogram with the catalog's buckets), ~7 attributes each.
 */
async function batchRequest(): Promise<ResourceMetrics> {
  return collect((meter) => {
    const sessions = meter.createCounter('grafana.dashboard.sessions', { unit: '{session}' });
    const engaged = meter.createCounter('grafana.dashboard.engaged_time', { unit: 's' });
    const heartbeats = meter.createCounter('grafana.dashboard.heartbeats', { unit: '{heartbeat}' });
    const duration = meter.createHistogram('grafana.dashboard.session.duration', {
      unit: 's',
      advice: { explicitBucketBoundaries: bucketsOf('grafana.dashboard.session.duration') },
    });
    for (let d = 0; d < 4; d++) {
      const attributes = dashboardAttributes(d, ROLES[d % ROLES.length]!);
      sessions.add(1, attributes);
      heartbeats.add(5, attributes); // within the bound of a point made in a moment (docs/metrics.md)
      duration.record(45 + d * 300, attributes);
      duration.record(20 + d * 60, attributes);
    }
    // Engaged time carries engagement.state, so it has its own series per state.
    for (let d = 0; d < 2; d++) {
      const attributes = dashboardAttributes(d, ROLES[d % ROLES.length]!);
      for (const state of ['focused', 'visible', 'hidden'] as const) {
        engaged.add(30 + d, { ...attributes, 'engagement.state': state });
      }
    }
    // 4 + 4 + 4 + 6 = 18 so far; two more sessions on other dashboards make 20.
    for (let d = 4; d < 6; d++) {
      sessions.add(1, dashboardAttributes(d, 'Viewer'));
    }
  });
}

async function toBody(name: string, encoding: Encoding, request: Promise<ResourceMetrics>): Promise<Body> {
  const resourceMetrics = await request;
  return {
    name,
    encoding,
    contentType: CONTENT_TYPE[encoding],
    bytes: serialize(resourceMetrics, encoding),
    points: countPoints(resourceMetrics),
  };
}

export type ThroughputBodyName = 'json-1k' | 'json-20pt' | 'protobuf-20pt';

export async function buildThroughputBody(name: ThroughputBodyName): Promise<Body> {
  switch (name) {
    case 'json-1k':
      return toBody(name, 'json', smallRequest());
    case 'json-20pt':
      return toBody(name, 'json', batchRequest());
    case 'protobuf-20pt':
      return toBody(name, 'protobuf', batchRequest());
  }
}

/**
 * Bodies that each create `perRequest` new series of the sessions counter (distinct dashboard.uid),
 * numbered from `first`: how the scrape and heap benchmarks fill the collector.
 */
export async function buildSeriesBodies(first: number, series: number, perRequest: number): Promise<Body[]> {
  const bodies: Body[] = [];
  for (let start = first; start < first + series; start += perRequest) {
    const end = Math.min(start + perRequest, first + series);
    const request = collect((meter) => {
      const sessions = meter.createCounter('grafana.dashboard.sessions', { unit: '{session}' });
      for (let d = start; d < end; d++) {
        sessions.add(1, dashboardAttributes(d, ROLES[d % ROLES.length]!));
      }
    });
    bodies.push(await toBody(`series-${start}`, 'json', request));
  }
  return bodies;
}
