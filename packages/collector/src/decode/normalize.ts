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
 * encodings: objects from JSON.parse (proto3 JSON mapping: lowerCamelCase keys, or the original
 * snake_case field names, which the mapping also allows and the OTel Collector's pdata accepts; int64 as
 * a string of digits or a JSON integer) and messages decoded by protobufjs (int64 as Long). Fields are
 * read only when they are the object's own properties, because protobufjs puts defaults for unset fields
 * on the prototype. Unknown fields are ignored, as OTLP requires; a field of the wrong type is a 400
 * naming its path.
 */
export function normalizeRequest(root: unknown): MetricsRequest {
  try {
    return { resources: readRequest(root) };
  } catch (err) {
    if (err instanceof FieldError) {
      throw malformedBody(`${err.path.join('').replace(/^\./, '') || 'request'} ${err.message}`);
    }
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
    if (err instanceof FieldError) {
      err.path.unshift(typeof segment === 'number' ? `[${segment}]` : `.${segment}`);
    }
    throw err;
  }
}

/**
 * Field names in both spellings the proto3 JSON mapping allows: the lowerCamelCase JSON name (what
 * protobufjs and OTel SDKs produce) and the proto field name. Single-word fields are spelt the same.
 */
const F = {
  resourceMetrics: ['resourceMetrics', 'resource_metrics'],
  scopeMetrics: ['scopeMetrics', 'scope_metrics'],
  dataPoints: ['dataPoints', 'data_points'],
  aggregationTemporality: ['aggregationTemporality', 'aggregation_temporality'],
  isMonotonic: ['isMonotonic', 'is_monotonic'],
  exponentialHistogram: ['exponentialHistogram', 'exponential_histogram'],
  asDouble: ['asDouble', 'as_double'],
  asInt: ['asInt', 'as_int'],
  startTimeUnixNano: ['startTimeUnixNano', 'start_time_unix_nano'],
  timeUnixNano: ['timeUnixNano', 'time_unix_nano'],
  bucketCounts: ['bucketCounts', 'bucket_counts'],
  explicitBounds: ['explicitBounds', 'explicit_bounds'],
  stringValue: ['stringValue', 'string_value'],
  boolValue: ['boolValue', 'bool_value'],
  intValue: ['intValue', 'int_value'],
  doubleValue: ['doubleValue', 'double_value'],
} as const satisfies Record<string, readonly [string, string]>;

/** DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK. */
const NO_RECORDED_VALUE = 1;

function readRequest(root: unknown): ResourceGroup[] {
  const request = asObject(root, '');
  const resources: ResourceGroup[] = [];
  const resourceMetrics = asArray(either(request, F.resourceMetrics), 'resourceMetrics');
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
  const scopeMetrics = asArray(either(rm, F.scopeMetrics), 'scopeMetrics');
  for (let s = 0; s < scopeMetrics.length; s++) {
    within('scopeMetrics', () =>
      within(s, () => {
        const list = asArray(field(asObject(scopeMetrics[s], ''), 'metrics'), 'metrics');
        for (let m = 0; m < list.length; m++) {
          metrics.push(within('metrics', () => within(m, () => readMetric(list[m]))));
        }
      })
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
      temporality: readTemporality(either(sum, F.aggregationTemporality)),
      monotonic: asBoolean(either(sum, F.isMonotonic), 'isMonotonic'),
      points: readPoints(either(sum, F.dataPoints), readNumberPoint),
    }));
  }
  const gauge = optionalObject(field(metric, 'gauge'), 'gauge');
  if (gauge) {
    return within('gauge', () => ({
      type: 'gauge',
      name,
      unit,
      points: readPoints(either(gauge, F.dataPoints), readNumberPoint),
    }));
  }
  const histogram = optionalObject(field(metric, 'histogram'), 'histogram');
  if (histogram) {
    return within('histogram', () => ({
      type: 'histogram',
      name,
      unit,
      temporality: readTemporality(either(histogram, F.aggregationTemporality)),
      points: readPoints(either(histogram, F.dataPoints), readHistogramPoint),
    }));
  }
  for (const [kind, names] of [
    ['exponentialHistogram', F.exponentialHistogram],
    ['summary', ['summary', 'summary']],
  ] as const) {
    const data = optionalObject(either(metric, names), kind);
    if (data) {
      const points = within(kind, () => asArray(either(data, F.dataPoints), 'dataPoints'));
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
      if (err instanceof FieldError) {
        err.path.unshift('.dataPoints', `[${i}]`);
      }
      throw err;
    }
  }
  return points;
}

function readNumberPoint(point: Record<string, unknown>): NumberPoint {
  const asDouble = either(point, F.asDouble);
  const asInt = asDouble === undefined ? either(point, F.asInt) : undefined;
  return {
    attributes: readAttributes(field(point, 'attributes')),
    startTime: readTime(either(point, F.startTimeUnixNano), 'startTimeUnixNano'),
    time: readTime(either(point, F.timeUnixNano), 'timeUnixNano'),
    noRecordedValue: readNoRecordedValue(field(point, 'flags')),
    value:
      asDouble !== undefined
        ? asNumber(asDouble, 'asDouble')
        : asInt !== undefined
          ? asInteger(asInt, 'asInt', true)
          : undefined,
  };
}

function readHistogramPoint(point: Record<string, unknown>): HistogramPoint {
  const sum = field(point, 'sum');
  const counts = asArray(either(point, F.bucketCounts), 'bucketCounts');
  const bucketCounts = new Array<number>(counts.length);
  for (let j = 0; j < counts.length; j++) {
    bucketCounts[j] = element(j, 'bucketCounts', () => asInteger(counts[j], '', false));
  }
  const bounds = asArray(either(point, F.explicitBounds), 'explicitBounds');
  const explicitBounds = new Array<number>(bounds.length);
  for (let j = 0; j < bounds.length; j++) {
    explicitBounds[j] = element(j, 'explicitBounds', () => asNumber(bounds[j], ''));
  }
  const count = field(point, 'count');
  return {
    attributes: readAttributes(field(point, 'attributes')),
    startTime: readTime(either(point, F.startTimeUnixNano), 'startTimeUnixNano'),
    time: readTime(either(point, F.timeUnixNano), 'timeUnixNano'),
    noRecordedValue: readNoRecordedValue(field(point, 'flags')),
    count: count === undefined ? 0 : asInteger(count, 'count', false),
    sum: sum === undefined ? undefined : asNumber(sum, 'sum'),
    bucketCounts,
    explicitBounds,
  };
}

/** Keeps scalar attribute values; arrays, key-value lists and bytes are dropped, never walked. */
function readAttributes(value: unknown): AttributeList {
  const list = asArray(value, 'attributes');
  const attributes: AttributeList = [];
  for (let i = 0; i < list.length; i++) {
    const kv = list[i];
    try {
      if (typeof kv !== 'object' || kv === null) {
        throw new FieldError('', 'must be an object');
      }
      // Absent is proto3's default, the empty string: protobuf never puts an empty key on the wire.
      const key = field(kv as Record<string, unknown>, 'key') ?? '';
      if (typeof key !== 'string') {
        throw new FieldError('key', 'must be a string');
      }
      const anyValue = field(kv as Record<string, unknown>, 'value');
      if (typeof anyValue !== 'object' || anyValue === null) {
        continue;
      }
      const scalar = readScalar(anyValue as Record<string, unknown>);
      if (scalar !== undefined) {
        attributes.push([key, scalar]);
      }
    } catch (err) {
      if (err instanceof FieldError) {
        err.path.unshift('.attributes', `[${i}]`);
      }
      throw err;
    }
  }
  return attributes;
}

function readScalar(anyValue: Record<string, unknown>): AttributeValue | undefined {
  const s = either(anyValue, F.stringValue);
  if (s !== undefined) {
    return asString(s, 'value.stringValue');
  }
  const b = either(anyValue, F.boolValue);
  if (b !== undefined) {
    return asBoolean(b, 'value.boolValue');
  }
  const i = either(anyValue, F.intValue);
  if (i !== undefined) {
    return asIntegerText(i, 'value.intValue');
  }
  const d = either(anyValue, F.doubleValue);
  if (d !== undefined) {
    return asNumber(d, 'value.doubleValue');
  }
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
  if (value === undefined) {
    return 'unspecified';
  }
  const temporality = typeof value === 'string' ? TEMPORALITY_NAMES[value] : TEMPORALITY[value as number];
  if (!temporality) {
    throw new FieldError('aggregationTemporality', 'must be 0, 1 or 2');
  }
  return temporality;
}

/** A fixed64 of nanoseconds since the epoch, as seconds (0 when unset). */
function readTime(value: unknown, name: string): number {
  return value === undefined ? 0 : asInteger(value, name, false) / 1e9;
}

function readNoRecordedValue(value: unknown): boolean {
  if (value === undefined) {
    return false;
  }
  return (asInteger(value, 'flags', false) & NO_RECORDED_VALUE) !== 0;
}

function field(object: Record<string, unknown>, key: string): unknown {
  if (!Object.hasOwn(object, key)) {
    return undefined;
  }
  const value = object[key];
  return value === null ? undefined : value;
}

/** A field in either spelling; the JSON name first, since that is what nearly every sender uses. */
function either(object: Record<string, unknown>, names: readonly [string, string]): unknown {
  return field(object, names[0]) ?? field(object, names[1]);
}

function asObject(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FieldError(name, 'must be an object');
  }
  return value as Record<string, unknown>;
}

function optionalObject(value: unknown, name: string): Record<string, unknown> | undefined {
  return value === undefined ? undefined : asObject(value, name);
}

function asArray(value: unknown, name: string): readonly unknown[] {
  if (value === undefined) {
    return [];
  }
  if (!Array.isArray(value)) {
    throw new FieldError(name, 'must be an array');
  }
  return value;
}

function asString(value: unknown, name: string): string {
  if (value === undefined) {
    return '';
  }
  if (typeof value !== 'string') {
    throw new FieldError(name, 'must be a string');
  }
  return value;
}

function asBoolean(value: unknown, name: string): boolean {
  if (value === undefined) {
    return false;
  }
  if (typeof value !== 'boolean') {
    throw new FieldError(name, 'must be a boolean');
  }
  return value;
}

/** Reads element j of a repeated field, prefixing an error's path with the field and index. */
function element<T>(j: number, name: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof FieldError) {
      err.path.unshift(`.${name}`, `[${j}]`);
    }
    throw err;
  }
}

const SIGNED_DIGITS = /^-?\d+$/;
const DIGITS = /^\d+$/;

/**
 * An int64 or fixed64: a JSON integer, a string of decimal digits (proto3 JSON's form for 64-bit
 * integers) or a protobufjs Long. Nothing else: no fraction, exponent, hex, sign on an unsigned field,
 * or blank, which Number() would all turn into some number.
 */
function asInteger(value: unknown, name: string, signed: boolean): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && (signed || value >= 0)) {
      return value;
    }
  } else if (typeof value === 'string') {
    if ((signed ? SIGNED_DIGITS : DIGITS).test(value)) {
      return Number(value);
    }
  } else if (isLong(value)) {
    // An unsigned Long (fixed64) converts to a non-negative number by itself.
    const n = value.toNumber();
    if (signed || n >= 0) {
      return n;
    }
  }
  throw new FieldError(name, signed ? 'must be an integer' : 'must be a non-negative integer');
}

/**
 * An int64 attribute value as canonical decimal text (`"007"` and `7` are one label value): attribute
 * values become label text anyway, and a JS number would round values past 2^53.
 */
function asIntegerText(value: unknown, name: string): string {
  if (typeof value === 'string' && SIGNED_DIGITS.test(value)) {
    return BigInt(value).toString();
  }
  if (typeof value === 'number' && Number.isInteger(value)) {
    return BigInt(value).toString();
  }
  if (isLong(value)) {
    return String(value);
  }
  throw new FieldError(name, 'must be an integer');
}

const SPECIAL_DOUBLES: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };
/** A decimal number in a string; Number() alone would also take hex, binary, blanks and `Infinity` spelt otherwise. */
const DECIMAL = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** double fields: a JSON number, a decimal string, or one of proto3 JSON's special strings. */
function asNumber(value: unknown, name: string): number {
  if (typeof value === 'number') {
    return value;
  }
  if (typeof value === 'string') {
    const special = SPECIAL_DOUBLES[value];
    if (special !== undefined) {
      return special;
    }
    if (DECIMAL.test(value)) {
      return Number(value);
    }
  }
  throw new FieldError(name, 'must be a number');
}

function isLong(value: unknown): value is { toNumber(): number } {
  return (
    typeof value === 'object' && value !== null && typeof (value as { toNumber?: unknown }).toNumber === 'function'
  );
}
