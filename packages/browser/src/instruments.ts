/**
 * The panel's instruments, made from the collector's catalog: name, unit, description and histogram
 * buckets are the catalog's, and each point keeps only the attributes the catalog declares for its
 * metric, so nothing is sent that the collector would drop. String values are capped here, the one
 * place every recorded attribute passes.
 */
import { ValueType, type Attributes, type Counter, type Histogram, type Meter } from '@opentelemetry/api';
import { capText } from './cap-text.ts';
import { catalogEntry, METRIC, readAttributes, type CatalogMetric, type MetricName } from './names.ts';

export interface Recorder {
  /** Adds to a counter or records into a histogram; attributes outside the catalog are left out. */
  record(metric: MetricName, value: number, attributes: Attributes): void;
}

type Instrument = { readonly entry: CatalogMetric; readonly keys: ReadonlySet<string> } & (
  | { readonly kind: 'counter'; readonly counter: Counter }
  | { readonly kind: 'histogram'; readonly histogram: Histogram }
);

function createInstrument(meter: Meter, name: MetricName): Instrument {
  const entry = catalogEntry(name);
  const keys = new Set(readAttributes(entry));
  const options = {
    unit: entry.unit,
    // No description: the collector has it from the same catalog, and every export would repeat it.
    // Seconds are fractional; everything else the panel counts is whole.
    valueType: entry.unit === 's' ? ValueType.DOUBLE : ValueType.INT,
  };
  if (entry.kind === 'histogram') {
    const histogram = meter.createHistogram(entry.name, {
      ...options,
      advice: { explicitBucketBoundaries: [...(entry.buckets ?? [])] },
    });
    return { entry, keys, kind: 'histogram', histogram };
  }
  if (entry.kind === 'counter') {
    return { entry, keys, kind: 'counter', counter: meter.createCounter(entry.name, options) };
  }
  throw new Error(`footfall: the panel does not record ${entry.kind} metrics (${entry.name})`);
}

export function createRecorder(meter: Meter): Recorder {
  const instruments = new Map<MetricName, Instrument>(
    Object.values(METRIC).map((name) => [name, createInstrument(meter, name)])
  );
  return {
    record(metric, value, attributes) {
      const instrument = instruments.get(metric);
      if (instrument === undefined || !Number.isFinite(value) || value < 0) {
        return;
      }
      const kept: Attributes = {};
      for (const key of Object.keys(attributes)) {
        const v = attributes[key];
        if (instrument.keys.has(key) && v !== undefined && v !== '') {
          kept[key] = typeof v === 'string' ? capText(v) : v;
        }
      }
      if (instrument.kind === 'counter') {
        instrument.counter.add(value, kept);
      } else {
        instrument.histogram.record(value, kept);
      }
    },
  };
}
