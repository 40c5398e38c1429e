/**
 * The internal model both OTLP encodings decode to. It keeps only what footfall reads: attribute
 * values are scalars (arrays, key-value lists and bytes are dropped while decoding), temporality is a
 * word instead of a wire enum, and int64s are JS numbers.
 */

export type AttributeValue = string | number | boolean;

/** Attributes in wire order; a key may repeat (it is resolved by the limits stage). */
export type AttributeList = Array<[key: string, value: AttributeValue]>;

export type Temporality = 'delta' | 'cumulative' | 'unspecified';

export interface NumberPoint {
  readonly attributes: AttributeList;
  readonly value: number;
}

export interface HistogramPoint {
  readonly attributes: AttributeList;
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
