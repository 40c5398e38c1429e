/**
 * Hand-built OTLP/JSON export requests, for input the SDK would never produce and for requests whose
 * exact shape a test controls. Encoding them for the wire (JSON or protobuf bytes) and sending them is
 * requests.ts's job.
 */
import {
  METRIC_CATALOG,
  PANEL_SCOPE_NAME,
  PANEL_SERVICE_NAME,
  type CatalogMetric,
} from '../../packages/collector/src/index.ts';

/** The catalog entry of a metric; throws for a name the catalog does not have. */
export function catalogMetric(name: string): CatalogMetric {
  const metric = METRIC_CATALOG.find((m) => m.name === name);
  if (metric === undefined) {
    throw new Error(`${name} is not in the catalog`);
  }
  return metric;
}

/** The catalog's bucket boundaries for a histogram metric (the panel records with exactly these). */
export function catalogBuckets(name: string): number[] {
  const { buckets } = catalogMetric(name);
  if (buckets === undefined) {
    throw new Error(`${name} is not a histogram in the catalog`);
  }
  return [...buckets];
}

export { PANEL_SCOPE_NAME, PANEL_SERVICE_NAME };

export type AttributeValue = string | number | boolean;

export interface JsonKeyValue {
  readonly key: string;
  readonly value: Record<string, string | number | boolean>;
}

/** An OTLP KeyValue: strings as stringValue, booleans as boolValue, integers as intValue (a string, as int64 is), other numbers as doubleValue. */
export function kv(key: string, value: AttributeValue): JsonKeyValue {
  if (typeof value === 'string') {
    return { key, value: { stringValue: value } };
  }
  if (typeof value === 'boolean') {
    return { key, value: { boolValue: value } };
  }
  if (Number.isSafeInteger(value)) {
    return { key, value: { intValue: String(value) } };
  }
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

/**
 * A point's window as a browser exports it: the five minutes since its previous export (the panel's
 * default interval). The collector bounds each increment by its window (docs/metrics.md).
 */
function window(): { startTimeUnixNano: string; timeUnixNano: string } {
  const now = BigInt(Date.now()) * 1_000_000n;
  return { startTimeUnixNano: String(now - 300_000_000_000n), timeUnixNano: String(now) };
}

/** A DELTA monotonic sum with one point per entry. */
export function deltaSum(
  name: string,
  points: ReadonlyArray<{ value: number; attributes: JsonKeyValue[] }>
): JsonMetric {
  return {
    name,
    sum: {
      aggregationTemporality: 1,
      isMonotonic: true,
      dataPoints: points.map((p) => ({
        ...(Number.isInteger(p.value) ? { asInt: String(p.value) } : { asDouble: p.value }),
        attributes: p.attributes,
        ...window(),
      })),
    },
  };
}

/** A DELTA histogram on the catalog's buckets; each point holds the given observations. */
export function deltaHistogram(
  name: string,
  points: ReadonlyArray<{ observations: readonly number[]; attributes: JsonKeyValue[] }>
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
          ...window(),
          count: String(p.observations.length),
          sum: p.observations.reduce((a, b) => a + b, 0),
          bucketCounts: bucketCounts.map(String),
          explicitBounds: bounds,
        };
      }),
    },
  };
}

/**
 * An ExportMetricsServiceRequest in OTLP/JSON shape. A type alias rather than an interface: protobufjs'
 * fromObject takes an index-signature object, which only an alias is assignable to.
 */
export type ExportRequest = {
  readonly resourceMetrics: ReadonlyArray<{
    readonly resource: { readonly attributes: readonly JsonKeyValue[] };
    readonly scopeMetrics: ReadonlyArray<{
      readonly scope: { readonly name: string };
      readonly metrics: readonly JsonMetric[];
    }>;
  }>;
};

/** One resource (with these attributes, none by default), one scope, these metrics. */
export function exportRequest(metrics: readonly JsonMetric[], resource: readonly JsonKeyValue[] = []): ExportRequest {
  return {
    resourceMetrics: [
      { resource: { attributes: resource }, scopeMetrics: [{ scope: { name: PANEL_SCOPE_NAME }, metrics }] },
    ],
  };
}

/** The resource the panel's SDK sends: its service.name. */
export const PANEL_RESOURCE: readonly JsonKeyValue[] = [kv('service.name', PANEL_SERVICE_NAME)];

export interface SessionPoint {
  readonly uid: string;
  readonly value: number;
}

/** A delta monotonic sum of session counts per dashboard (or under another metric name). */
export function sessionsMetric(points: readonly SessionPoint[], name = 'grafana.dashboard.sessions'): JsonMetric {
  return {
    ...deltaSum(
      name,
      points.map((p) => ({ value: p.value, attributes: [kv('dashboard.uid', p.uid)] }))
    ),
    unit: '{session}',
  };
}

/** A request as the panel's SDK would send it, holding one sessionsMetric. */
export function sessionsRequest(points: readonly SessionPoint[], name?: string): ExportRequest {
  return exportRequest([sessionsMetric(points, name)], PANEL_RESOURCE);
}
