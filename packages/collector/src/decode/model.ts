/**
 * The internal model both OTLP encodings decode to. It keeps only what footfall reads: attribute
 * values are scalars (arrays, key-value lists and bytes are dropped while decoding), temporality is a
 * word instead of a wire enum, int64s are JS numbers (parsed exactly from digits; a value past 2^53
 * only loses precision where every plausibility bound has refused it already) and timestamps are
 * seconds since the epoch.
 */

export type AttributeValue = string | number | boolean;

/** Attributes in wire order; a key may repeat (it is resolved by the limits stage). */
export type AttributeList = Array<[key: string, value: AttributeValue]>;

export type Temporality = 'delta' | 'cumulative' | 'unspecified';

interface PointBase {
  readonly attributes: AttributeList;
  /** Start of the point's aggregation window (seconds since the epoch; 0 when the sender left it unset). */
  readonly startTime: number;
  /** End of the window (seconds since the epoch; 0 when unset). */
  readonly time: number;
  /** DataPointFlags.FLAG_NO_RECORDED_VALUE: the sender says there is no value (a staleness marker). */
  readonly noRecordedValue: boolean;
}

export interface NumberPoint extends PointBase {
  /** Undefined when the point carries neither asDouble nor asInt. */
  readonly value: number | undefined;
}

export interface HistogramPoint extends PointBase {
  readonly count: number;
  readonly sum: number | undefined;
  readonly bucketCounts: readonly number[];
  readonly explicitBounds: readonly number[];
}

interface MetricBase {
  readonly name: string;
  readonly unit: string;
}

export interface SumMetric extends MetricBase {
  readonly type: 'sum';
  readonly temporality: Temporality;
  readonly monotonic: boolean;
  readonly points: NumberPoint[];
}

export interface GaugeMetric extends MetricBase {
  readonly type: 'gauge';
  readonly points: NumberPoint[];
}

export interface HistogramMetric extends MetricBase {
  readonly type: 'histogram';
  readonly temporality: Temporality;
  readonly points: HistogramPoint[];
}

/** Exponential histograms, summaries, or a metric without data: counted and refused. */
export interface UnsupportedMetric extends MetricBase {
  readonly type: 'unsupported';
  readonly kind: string;
  readonly pointCount: number;
}

export type Metric = SumMetric | GaugeMetric | HistogramMetric | UnsupportedMetric;

export interface ResourceGroup {
  readonly attributes: AttributeList;
  readonly metrics: Metric[];
}

export interface MetricsRequest {
  readonly resources: ResourceGroup[];
}
