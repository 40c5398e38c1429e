import { malformedBody } from '../errors.js';
import type {
  AttributeList,
  AttributeValue,
  HistogramPoint,
  Metric,
  MetricsRequest,
  NumberPoint,
  ResourceGroup,
  Temporality,
} from './model.js';

/**
 * Turns an ExportMetricsServiceRequest in proto shape into the internal model. The same walk serves both
 * encodings: objects from JSON.parse (proto3 JSON mapping: lowerCamelCase keys, int64 as string or
 * number) and messages decoded by protobufjs (int64 as Long). Fields are read only when they are the
 * object's own properties, because protobufjs puts defaults for unset fields on the prototype.
 * Unknown fields are ignored, as OTLP requires; a field of the wrong type is a 400 naming its path.
 */
export function normalizeRequest(root: unknown): MetricsRequest {
  const request = asObject(root, '');
  const resources: ResourceGroup[] = [];
  let pointCount = 0;
  const resourceMetrics = asArray(field(request, 'resourceMetrics'), 'resourceMetrics');
  for (let r = 0; r < resourceMetrics.length; r++) {
    const rmPath = `resourceMetrics[${r}]`;
    const rm = asObject(resourceMetrics[r], rmPath);
    const resource = optionalObject(field(rm, 'resource'), `${rmPath}.resource`);
    const attributes = resource ? readAttributes(field(resource, 'attributes'), `${rmPath}.resource.attributes`) : [];
    const metrics: Metric[] = [];
    const scopeMetrics = asArray(field(rm, 'scopeMetrics'), `${rmPath}.scopeMetrics`);
    for (let s = 0; s < scopeMetrics.length; s++) {
      const smPath = `${rmPath}.scopeMetrics[${s}]`;
      const sm = asObject(scopeMetrics[s], smPath);
      const list = asArray(field(sm, 'metrics'), `${smPath}.metrics`);
      for (let m = 0; m < list.length; m++) {
        const metric = readMetric(list[m], `${smPath}.metrics[${m}]`);
        pointCount += metric.type === 'unsupported' ? metric.pointCount : metric.points.length;
        metrics.push(metric);
      }
    }
    resources.push({ attributes, metrics });
  }
  return { resources, pointCount };
}

function readMetric(value: unknown, path: string): Metric {
  const metric = asObject(value, path);
  const name = asString(field(metric, 'name'), `${path}.name`);
  const unit = asString(field(metric, 'unit'), `${path}.unit`);
  const sum = optionalObject(field(metric, 'sum'), `${path}.sum`);
  if (sum) {
    return {
      type: 'sum',
      name,
      unit,
      temporality: readTemporality(field(sum, 'aggregationTemporality'), `${path}.sum.aggregationTemporality`),
      monotonic: asBoolean(field(sum, 'isMonotonic'), `${path}.sum.isMonotonic`),
      points: readNumberPoints(field(sum, 'dataPoints'), `${path}.sum.dataPoints`),
    };
  }
  const gauge = optionalObject(field(metric, 'gauge'), `${path}.gauge`);
  if (gauge) {
    return { type: 'gauge', name, unit, points: readNumberPoints(field(gauge, 'dataPoints'), `${path}.gauge.dataPoints`) };
  }
  const histogram = optionalObject(field(metric, 'histogram'), `${path}.histogram`);
  if (histogram) {
    return {
      type: 'histogram',
      name,
      unit,
      temporality: readTemporality(
        field(histogram, 'aggregationTemporality'),
        `${path}.histogram.aggregationTemporality`,
      ),
      points: readHistogramPoints(field(histogram, 'dataPoints'), `${path}.histogram.dataPoints`),
    };
  }
  for (const kind of ['exponentialHistogram', 'summary'] as const) {
    const data = optionalObject(field(metric, kind), `${path}.${kind}`);
    if (data) {
      const points = asArray(field(data, 'dataPoints'), `${path}.${kind}.dataPoints`);
      return { type: 'unsupported', kind, name, unit, pointCount: points.length };
    }
  }
  return { type: 'unsupported', kind: 'empty', name, unit, pointCount: 0 };
}

function readNumberPoints(value: unknown, path: string): NumberPoint[] {
  const list = asArray(value, path);
  const points: NumberPoint[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const pointPath = `${path}[${i}]`;
    const point = asObject(list[i], pointPath);
    const asDouble = field(point, 'asDouble');
    const number =
      asDouble !== undefined
        ? asNumber(asDouble, `${pointPath}.asDouble`)
        : asNumber(field(point, 'asInt') ?? 0, `${pointPath}.asInt`);
    points[i] = { attributes: readAttributes(field(point, 'attributes'), `${pointPath}.attributes`), value: number };
  }
  return points;
}

function readHistogramPoints(value: unknown, path: string): HistogramPoint[] {
  const list = asArray(value, path);
  const points: HistogramPoint[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const pointPath = `${path}[${i}]`;
    const point = asObject(list[i], pointPath);
    const sum = field(point, 'sum');
    points[i] = {
      attributes: readAttributes(field(point, 'attributes'), `${pointPath}.attributes`),
      count: asNumber(field(point, 'count') ?? 0, `${pointPath}.count`),
      sum: sum === undefined ? undefined : asNumber(sum, `${pointPath}.sum`),
      bucketCounts: asArray(field(point, 'bucketCounts'), `${pointPath}.bucketCounts`).map((c, j) =>
        asNumber(c, `${pointPath}.bucketCounts[${j}]`),
      ),
      explicitBounds: asArray(field(point, 'explicitBounds'), `${pointPath}.explicitBounds`).map((b, j) =>
        asNumber(b, `${pointPath}.explicitBounds[${j}]`),
      ),
    };
  }
  return points;
}

/** Keeps scalar attribute values; arrays, key-value lists and bytes are dropped, never walked. */
function readAttributes(value: unknown, path: string): AttributeList {
  const list = asArray(value, path);
  const attributes: AttributeList = [];
  for (let i = 0; i < list.length; i++) {
    const kv = list[i];
    if (typeof kv !== 'object' || kv === null) throw malformedBody(`${path}[${i}] must be an object`);
    const key = field(kv as Record<string, unknown>, 'key');
    if (typeof key !== 'string') throw malformedBody(`${path}[${i}].key must be a string`);
    const anyValue = field(kv as Record<string, unknown>, 'value');
    if (typeof anyValue !== 'object' || anyValue === null) continue;
    const scalar = readScalar(anyValue as Record<string, unknown>, `${path}[${i}].value`);
    if (scalar !== undefined) attributes.push([key, scalar]);
  }
  return attributes;
}

function readScalar(anyValue: Record<string, unknown>, path: string): AttributeValue | undefined {
  const s = field(anyValue, 'stringValue');
  if (s !== undefined) return asString(s, `${path}.stringValue`);
  const b = field(anyValue, 'boolValue');
  if (b !== undefined) return asBoolean(b, `${path}.boolValue`);
  const i = field(anyValue, 'intValue');
  if (i !== undefined) return asIntegerText(i, `${path}.intValue`);
  const d = field(anyValue, 'doubleValue');
  if (d !== undefined) return asNumber(d, `${path}.doubleValue`);
  return undefined;
}

const TEMPORALITY: Record<number, Temporality> = { 0: 'unspecified', 1: 'delta', 2: 'cumulative' };
const TEMPORALITY_NAMES: Record<string, Temporality> = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 'unspecified',
  AGGREGATION_TEMPORALITY_DELTA: 'delta',
  AGGREGATION_TEMPORALITY_CUMULATIVE: 'cumulative',
};

/** OTLP sends enums as integers; enum names are accepted too, as the proto3 JSON mapping allows. */
function readTemporality(value: unknown, path: string): Temporality {
  if (value === undefined) return 'unspecified';
  const temporality = typeof value === 'string' ? TEMPORALITY_NAMES[value] : TEMPORALITY[value as number];
  if (!temporality) throw malformedBody(`${path} must be 0, 1 or 2`);
  return temporality;
}

function field(object: Record<string, unknown>, key: string): unknown {
  if (!Object.hasOwn(object, key)) return undefined;
  const value = object[key];
  return value === null ? undefined : value;
}

function asObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformedBody(`${path || 'request'} must be an object`);
  }
  return value as Record<string, unknown>;
}

function optionalObject(value: unknown, path: string): Record<string, unknown> | undefined {
  return value === undefined ? undefined : asObject(value, path);
}

function asArray(value: unknown, path: string): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw malformedBody(`${path} must be an array`);
  return value;
}

function asString(value: unknown, path: string): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') throw malformedBody(`${path} must be a string`);
  return value;
}

function asBoolean(value: unknown, path: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw malformedBody(`${path} must be a boolean`);
  return value;
}

/**
 * An int64 attribute value as decimal text, exactly as sent: attribute values become label text
 * anyway, and a JS number would round values past 2^53.
 */
function asIntegerText(value: unknown, path: string): string {
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (typeof value === 'object' && value !== null && typeof (value as { toNumber?: unknown }).toNumber === 'function') {
    return String(value);
  }
  throw malformedBody(`${path} must be an integer`);
}

const SPECIAL_DOUBLES: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** int64 and double fields: a JSON number, a decimal string, or a protobufjs Long. */
function asNumber(value: unknown, path: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const special = SPECIAL_DOUBLES[value];
    if (special !== undefined) return special;
    const n = value.trim() === '' ? NaN : Number(value);
    if (Number.isNaN(n)) throw malformedBody(`${path} must be a number`);
    return n;
  }
  if (typeof value === 'object' && value !== null && typeof (value as { toNumber?: unknown }).toNumber === 'function') {
    return (value as { toNumber(): number }).toNumber();
  }
  throw malformedBody(`${path} must be a number`);
}
