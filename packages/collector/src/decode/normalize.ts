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
  try {
    return { resources: readRequest(root) };
  } catch (err) {
    if (err instanceof FieldError) throw malformedBody(`${err.path.join('').replace(/^\./, '') || 'request'} ${err.message}`);
    throw err;
  }
}

/**
 * A misfit field. The walk builds no path strings on the way down (that would cost on every point of
 * every request); each level adds its segment only when an error passes through it.
 */
class FieldError extends Error {
  readonly path: Array<string | number>;
  constructor(field: string, message: string) {
    super(message);
    this.path = field ? [`.${field}`] : [];
  }
}

/** Runs `read`, prefixing the path of a FieldError thrown inside with `segment`. */
function within<T>(segment: string | number, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof FieldError) err.path.unshift(typeof segment === 'number' ? `[${segment}]` : `.${segment}`);
    throw err;
  }
}

function readRequest(root: unknown): ResourceGroup[] {
  const request = asObject(root, '');
  const resources: ResourceGroup[] = [];
  const resourceMetrics = asArray(field(request, 'resourceMetrics'), 'resourceMetrics');
  for (let r = 0; r < resourceMetrics.length; r++) {
    resources.push(within('resourceMetrics', () => within(r, () => readResourceMetrics(resourceMetrics[r]))));
  }
  return resources;
}

function readResourceMetrics(value: unknown): ResourceGroup {
  const rm = asObject(value, '');
  const resource = optionalObject(field(rm, 'resource'), 'resource');
  const attributes = resource ? within('resource', () => readAttributes(field(resource, 'attributes'))) : [];
  const metrics: Metric[] = [];
  const scopeMetrics = asArray(field(rm, 'scopeMetrics'), 'scopeMetrics');
  for (let s = 0; s < scopeMetrics.length; s++) {
    within('scopeMetrics', () =>
      within(s, () => {
        const list = asArray(field(asObject(scopeMetrics[s], ''), 'metrics'), 'metrics');
        for (let m = 0; m < list.length; m++) metrics.push(within('metrics', () => within(m, () => readMetric(list[m]))));
      }),
    );
  }
  return { attributes, metrics };
}

function readMetric(value: unknown): Metric {
  const metric = asObject(value, '');
  const name = asString(field(metric, 'name'), 'name');
  const unit = asString(field(metric, 'unit'), 'unit');
  const sum = optionalObject(field(metric, 'sum'), 'sum');
  if (sum) {
    return within('sum', () => ({
      type: 'sum',
      name,
      unit,
      temporality: readTemporality(field(sum, 'aggregationTemporality')),
      monotonic: asBoolean(field(sum, 'isMonotonic'), 'isMonotonic'),
      points: readPoints(field(sum, 'dataPoints'), readNumberPoint),
    }));
  }
  const gauge = optionalObject(field(metric, 'gauge'), 'gauge');
  if (gauge) {
    return within('gauge', () => ({ type: 'gauge', name, unit, points: readPoints(field(gauge, 'dataPoints'), readNumberPoint) }));
  }
  const histogram = optionalObject(field(metric, 'histogram'), 'histogram');
  if (histogram) {
    return within('histogram', () => ({
      type: 'histogram',
      name,
      unit,
      temporality: readTemporality(field(histogram, 'aggregationTemporality')),
      points: readPoints(field(histogram, 'dataPoints'), readHistogramPoint),
    }));
  }
  for (const kind of ['exponentialHistogram', 'summary'] as const) {
    const data = optionalObject(field(metric, kind), kind);
    if (data) {
      const points = within(kind, () => asArray(field(data, 'dataPoints'), 'dataPoints'));
      return { type: 'unsupported', kind, name, unit, pointCount: points.length };
    }
  }
  return { type: 'unsupported', kind: 'empty', name, unit, pointCount: 0 };
}

function readPoints<P>(value: unknown, read: (point: Record<string, unknown>) => P): P[] {
  const list = asArray(value, 'dataPoints');
  const points: P[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    try {
      points[i] = read(asObject(list[i], ''));
    } catch (err) {
      if (err instanceof FieldError) err.path.unshift('.dataPoints', `[${i}]`);
      throw err;
    }
  }
  return points;
}

function readNumberPoint(point: Record<string, unknown>): NumberPoint {
  const asDouble = field(point, 'asDouble');
  return {
    attributes: readAttributes(field(point, 'attributes')),
    value: asDouble !== undefined ? asNumber(asDouble, 'asDouble') : asNumber(field(point, 'asInt') ?? 0, 'asInt'),
  };
}

function readHistogramPoint(point: Record<string, unknown>): HistogramPoint {
  const sum = field(point, 'sum');
  return {
    attributes: readAttributes(field(point, 'attributes')),
    count: asNumber(field(point, 'count') ?? 0, 'count'),
    sum: sum === undefined ? undefined : asNumber(sum, 'sum'),
    bucketCounts: asNumbers(field(point, 'bucketCounts'), 'bucketCounts'),
    explicitBounds: asNumbers(field(point, 'explicitBounds'), 'explicitBounds'),
  };
}

/** Keeps scalar attribute values; arrays, key-value lists and bytes are dropped, never walked. */
function readAttributes(value: unknown): AttributeList {
  const list = asArray(value, 'attributes');
  const attributes: AttributeList = [];
  for (let i = 0; i < list.length; i++) {
    const kv = list[i];
    try {
      if (typeof kv !== 'object' || kv === null) throw new FieldError('', 'must be an object');
      // Absent is proto3's default, the empty string: protobuf never puts an empty key on the wire.
      const key = field(kv as Record<string, unknown>, 'key') ?? '';
      if (typeof key !== 'string') throw new FieldError('key', 'must be a string');
      const anyValue = field(kv as Record<string, unknown>, 'value');
      if (typeof anyValue !== 'object' || anyValue === null) continue;
      const scalar = readScalar(anyValue as Record<string, unknown>);
      if (scalar !== undefined) attributes.push([key, scalar]);
    } catch (err) {
      if (err instanceof FieldError) err.path.unshift('.attributes', `[${i}]`);
      throw err;
    }
  }
  return attributes;
}

function readScalar(anyValue: Record<string, unknown>): AttributeValue | undefined {
  const s = field(anyValue, 'stringValue');
  if (s !== undefined) return asString(s, 'value.stringValue');
  const b = field(anyValue, 'boolValue');
  if (b !== undefined) return asBoolean(b, 'value.boolValue');
  const i = field(anyValue, 'intValue');
  if (i !== undefined) return asIntegerText(i, 'value.intValue');
  const d = field(anyValue, 'doubleValue');
  if (d !== undefined) return asNumber(d, 'value.doubleValue');
  return undefined;
}

const TEMPORALITY: Record<number, Temporality> = { 0: 'unspecified', 1: 'delta', 2: 'cumulative' };
const TEMPORALITY_NAMES: Record<string, Temporality> = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 'unspecified',
  AGGREGATION_TEMPORALITY_DELTA: 'delta',
  AGGREGATION_TEMPORALITY_CUMULATIVE: 'cumulative',
};

/** OTLP sends enums as integers; enum names are accepted too, as the proto3 JSON mapping allows. */
function readTemporality(value: unknown): Temporality {
  if (value === undefined) return 'unspecified';
  const temporality = typeof value === 'string' ? TEMPORALITY_NAMES[value] : TEMPORALITY[value as number];
  if (!temporality) throw new FieldError('aggregationTemporality', 'must be 0, 1 or 2');
  return temporality;
}

function field(object: Record<string, unknown>, key: string): unknown {
  if (!Object.hasOwn(object, key)) return undefined;
  const value = object[key];
  return value === null ? undefined : value;
}

function asObject(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FieldError(name, 'must be an object');
  return value as Record<string, unknown>;
}

function optionalObject(value: unknown, name: string): Record<string, unknown> | undefined {
  return value === undefined ? undefined : asObject(value, name);
}

function asArray(value: unknown, name: string): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new FieldError(name, 'must be an array');
  return value;
}

function asString(value: unknown, name: string): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') throw new FieldError(name, 'must be a string');
  return value;
}

function asBoolean(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new FieldError(name, 'must be a boolean');
  return value;
}

function asNumbers(value: unknown, name: string): number[] {
  const list = asArray(value, name);
  const numbers = new Array<number>(list.length);
  for (let j = 0; j < list.length; j++) {
    try {
      numbers[j] = asNumber(list[j], '');
    } catch (err) {
      if (err instanceof FieldError) err.path.unshift(`.${name}`, `[${j}]`);
      throw err;
    }
  }
  return numbers;
}

/**
 * An int64 attribute value as decimal text, exactly as sent: attribute values become label text
 * anyway, and a JS number would round values past 2^53.
 */
function asIntegerText(value: unknown, name: string): string {
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (isLong(value)) return String(value);
  throw new FieldError(name, 'must be an integer');
}

const SPECIAL_DOUBLES: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** int64 and double fields: a JSON number, a decimal string, or a protobufjs Long. */
function asNumber(value: unknown, name: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const special = SPECIAL_DOUBLES[value];
    if (special !== undefined) return special;
    const n = value.trim() === '' ? NaN : Number(value);
    if (!Number.isNaN(n)) return n;
  } else if (isLong(value)) {
    return value.toNumber();
  }
  throw new FieldError(name, 'must be a number');
}

function isLong(value: unknown): value is { toNumber(): number } {
  return typeof value === 'object' && value !== null && typeof (value as { toNumber?: unknown }).toNumber === 'function';
}
