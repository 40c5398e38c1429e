/**
 * Reading the panel's OTLP/JSON request bodies back, as a collector would: one flat list of data points
 * with their metric, attributes, resource and scope, so a test can sum what went over the wire.
 */

export type AttributeValue = string | number | boolean;

export interface WireHistogram {
  readonly count: number;
  readonly sum: number;
  readonly bucketCounts: readonly number[];
  readonly explicitBounds: readonly number[];
  readonly min: number | undefined;
  readonly max: number | undefined;
}

export interface WirePoint {
  readonly metric: string;
  readonly unit: string;
  readonly description: string | undefined;
  readonly type: 'sum' | 'histogram' | 'gauge' | 'other';
  /** OTLP's AggregationTemporality: 1 is DELTA, 2 CUMULATIVE. */
  readonly temporality: number | undefined;
  readonly monotonic: boolean | undefined;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly resource: Readonly<Record<string, AttributeValue>>;
  readonly scope: { readonly name: string; readonly version: string | undefined };
  /** The value of a sum or gauge point; the count of a histogram point. */
  readonly value: number;
  readonly histogram: WireHistogram | undefined;
}

interface KeyValue {
  key: string;
  value?: { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean };
}

function attributesOf(list: readonly KeyValue[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const { key, value } of list ?? []) {
    if (value?.stringValue !== undefined) {
      out[key] = value.stringValue;
    } else if (value?.intValue !== undefined) {
      out[key] = Number(value.intValue);
    } else if (value?.doubleValue !== undefined) {
      out[key] = value.doubleValue;
    } else if (value?.boolValue !== undefined) {
      out[key] = value.boolValue;
    }
  }
  return out;
}

interface JsonPoint {
  attributes?: KeyValue[];
  asInt?: number | string;
  asDouble?: number;
  count?: number | string;
  sum?: number;
  bucketCounts?: Array<number | string>;
  explicitBounds?: number[];
  min?: number;
  max?: number;
}

interface JsonMetric {
  name: string;
  unit?: string;
  description?: string;
  sum?: { aggregationTemporality?: number; isMonotonic?: boolean; dataPoints: JsonPoint[] };
  histogram?: { aggregationTemporality?: number; dataPoints: JsonPoint[] };
  gauge?: { dataPoints: JsonPoint[] };
}

interface JsonRequest {
  resourceMetrics?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeMetrics?: Array<{ scope?: { name: string; version?: string }; metrics?: JsonMetric[] }>;
  }>;
}

/** Every data point in one OTLP/JSON `ExportMetricsServiceRequest`. */
export function decodeOtlpJson(body: string): WirePoint[] {
  const request = JSON.parse(body) as JsonRequest;
  const out: WirePoint[] = [];
  for (const rm of request.resourceMetrics ?? []) {
    const resource = attributesOf(rm.resource?.attributes);
    for (const sm of rm.scopeMetrics ?? []) {
      const scope = { name: sm.scope?.name ?? '', version: sm.scope?.version };
      for (const m of sm.metrics ?? []) {
        const common = { metric: m.name, unit: m.unit ?? '', description: m.description, resource, scope };
        if (m.sum) {
          for (const p of m.sum.dataPoints) {
            out.push({
              ...common,
              type: 'sum',
              temporality: m.sum.aggregationTemporality,
              monotonic: m.sum.isMonotonic,
              attributes: attributesOf(p.attributes),
              value: Number(p.asInt ?? p.asDouble ?? 0),
              histogram: undefined,
            });
          }
        } else if (m.histogram) {
          for (const p of m.histogram.dataPoints) {
            const histogram: WireHistogram = {
              count: Number(p.count ?? 0),
              sum: p.sum ?? 0,
              bucketCounts: (p.bucketCounts ?? []).map(Number),
              explicitBounds: p.explicitBounds ?? [],
              min: p.min,
              max: p.max,
            };
            out.push({
              ...common,
              type: 'histogram',
              temporality: m.histogram.aggregationTemporality,
              monotonic: undefined,
              attributes: attributesOf(p.attributes),
              value: histogram.count,
              histogram,
            });
          }
        } else {
          for (const p of m.gauge?.dataPoints ?? [{}]) {
            out.push({
              ...common,
              type: m.gauge ? 'gauge' : 'other',
              temporality: undefined,
              monotonic: undefined,
              attributes: attributesOf(p.attributes),
              value: Number(p.asInt ?? p.asDouble ?? 0),
              histogram: undefined,
            });
          }
        }
      }
    }
  }
  return out;
}

function matches(point: WirePoint, metric: string, match: Readonly<Record<string, AttributeValue>>): boolean {
  return point.metric === metric && Object.entries(match).every(([k, v]) => point.attributes[k] === v);
}

/** The points of `metric` whose attributes include `match`. */
export function pointsOf(
  points: readonly WirePoint[],
  metric: string,
  match: Readonly<Record<string, AttributeValue>> = {}
): WirePoint[] {
  return points.filter((p) => matches(p, metric, match));
}

/** Total of a sum metric (or count of a histogram) over the matching points. */
export function totalOf(
  points: readonly WirePoint[],
  metric: string,
  match: Readonly<Record<string, AttributeValue>> = {}
): number {
  return pointsOf(points, metric, match).reduce((total, p) => total + p.value, 0);
}

/** The matching histogram points merged into one: counts, sum and bucket counts added. */
export function histogramOf(
  points: readonly WirePoint[],
  metric: string,
  match: Readonly<Record<string, AttributeValue>> = {}
): { count: number; sum: number; bucketCounts: number[]; explicitBounds: readonly number[] } {
  const hs = pointsOf(points, metric, match).flatMap((p) => (p.histogram ? [p.histogram] : []));
  const bounds = hs[0]?.explicitBounds ?? [];
  const bucketCounts = new Array<number>(bounds.length + 1).fill(0);
  for (const h of hs) {
    h.bucketCounts.forEach((c, i) => (bucketCounts[i] = (bucketCounts[i] ?? 0) + c));
  }
  return {
    count: hs.reduce((t, h) => t + h.count, 0),
    sum: hs.reduce((t, h) => t + h.sum, 0),
    bucketCounts,
    explicitBounds: bounds,
  };
}

/**
 * The bucket counts an explicit-bucket histogram must have for `values`: OTLP buckets are
 * (bounds[i-1], bounds[i]], the last one (bounds[n-1], +Inf).
 */
export function expectedBuckets(bounds: readonly number[], values: readonly number[]): number[] {
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (const v of values) {
    const i = bounds.findIndex((b) => v <= b);
    const index = i === -1 ? bounds.length : i;
    counts[index] = (counts[index] ?? 0) + 1;
  }
  return counts;
}
