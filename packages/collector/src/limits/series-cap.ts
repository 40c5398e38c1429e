import type { Labels } from './attribute-limiter.js';

export const OVERFLOW_LABELS: Readonly<Labels> = Object.freeze({ otel_metric_overflow: 'true' });

export interface AdmittedSeries {
  readonly labels: Labels;
  /** Identifies the series within its metric. */
  readonly key: string;
  readonly overflow: boolean;
  /** The labels as asked for, before any folding into the overflow series. */
  readonly source: Labels;
}

/**
 * A lifetime cap on distinct series per metric. The SDK's own cardinality limit counts only the series
 * of one collection cycle and a cumulative (Prometheus) reader never forgets a series, so left alone
 * the exposition grows without bound. Past the cap, points of new series fold into the one
 * `otel_metric_overflow="true"` series of their metric; known series keep counting.
 */
export interface SeriesCap {
  admit(metric: string, labels: Labels): AdmittedSeries;
}

const OVERFLOW_KEY = seriesKey(OVERFLOW_LABELS);

/** An unambiguous key for a label set (JSON of the sorted pairs: no separator can be forged). */
export function seriesKey(labels: Labels): string {
  return JSON.stringify(Object.keys(labels).sort().map((name) => [name, labels[name]]));
}

export function createSeriesCap(maxSeriesPerMetric: number): SeriesCap {
  const seen = new Map<string, Set<string>>();
  return {
    admit(metric, labels) {
      let series = seen.get(metric);
      if (series === undefined) {
        series = new Set();
        seen.set(metric, series);
      }
      const key = seriesKey(labels);
      if (series.has(key)) return { labels, key, overflow: false, source: labels };
      if (series.size < maxSeriesPerMetric) {
        series.add(key);
        return { labels, key, overflow: false, source: labels };
      }
      return { labels: { ...OVERFLOW_LABELS }, key: OVERFLOW_KEY, overflow: true, source: labels };
    },
  };
}
