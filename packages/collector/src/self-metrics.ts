import type { Attributes, Meter, MeterProvider } from '@opentelemetry/api';
import type { Encoding } from './decode/index.js';
import type { ForwardLoss, ForwardResult } from './forward/index.js';
import type { IngestStats } from './stats.js';

export const SELF_METER = 'footfall.collector';

/** The `encoding` label of a request: an OTLP encoding, `macropower` for the old panel's /write, `unknown` for an OTLP content type nobody takes. */
export type RequestEncoding = Encoding | 'macropower' | 'unknown';

/**
 * The collector's own health, exposed on /metrics beside the data: requests by status and reason,
 * points accepted and refused by reason, attributes dropped, series folded into overflow, decode time.
 * Every label value comes from a fixed set (reasons, status codes, encodings, catalog names), never
 * from client input.
 */
export interface SelfMetrics {
  request(status: number, reason: string, encoding: RequestEncoding): void;
  decoded(encoding: RequestEncoding, seconds: number): void;
  ingested(stats: IngestStats): void;
  /** One authorize decision: its auth mode and outcome (verified, cached, unauthorized, grafana_unavailable…). */
  authenticated(mode: string, outcome: string): void;
  /** One request to the upstream, after the transport's retries: ok, partial (points rejected) or failed. */
  forwardExported(result: ForwardResult): void;
  /** Points that will not reach the upstream, and why. */
  forwardLost(points: number, reason: ForwardLoss): void;
  /** State file entries put back, and those skipped (unusable, or no longer in the catalog). */
  stateRestored(restored: number, skipped: number): void;
  /** Series forgotten after being idle for limits.seriesIdleExpiry. */
  seriesExpired(count: number): void;
  /** One inventory source listed: ok, or why not. */
  inventoryListed(result: string): void;
}

export interface SelfMetricsSources {
  /** Series known per family (Prometheus family name), read at each collection. */
  readonly seriesPerFamily: () => ReadonlyMap<string, number>;
  /** Points waiting for the forward upstream; undefined (or no source) while nothing is forwarded. */
  readonly forwardQueuedPoints?: () => number | undefined;
  /** The dashboard inventory, when there is one. */
  readonly inventory?:
    { readonly dashboards: () => number; readonly lastSuccess: () => number | undefined } | undefined;
}

/** A monotonic count per label set, added to on the hot path and read by the SDK at each collection. */
interface Tally {
  /** `key` names the label set (the same key, the same attributes); `attributes` is read only the first time. */
  add(n: number, key: string, attributes: () => Attributes): void;
}

/**
 * A counter for what every request counts (its status, its points' fates): the sums are kept in a plain
 * map and reported to the SDK as an observable counter when it collects. A synchronous Counter.add
 * would allocate and hash (sorted keys, JSON.stringify) an attribute object on each of several calls
 * per request; the exposition shows the same counter, with the same values, either way. Keys are made
 * of fixed words (status codes, reasons, encodings, modes), never of client input.
 */
function createTally(meter: Meter, name: string, description: string): Tally {
  const counts = new Map<string, { readonly attributes: Attributes; value: number }>();
  meter.createObservableCounter(name, { description }).addCallback((result) => {
    for (const { attributes, value } of counts.values()) {
      result.observe(value, attributes);
    }
  });
  return {
    add(n, key, attributes) {
      const entry = counts.get(key);
      if (entry === undefined) {
        counts.set(key, { attributes: attributes(), value: n });
      } else {
        entry.value += n;
      }
    },
  };
}

export function createSelfMetrics(meterProvider: MeterProvider, sources: SelfMetricsSources): SelfMetrics {
  const meter = meterProvider.getMeter(SELF_METER);
  const stateEntries = meter.createCounter('footfall_collector_state_entries_total', {
    description: 'State file entries at start, by result (restored, skipped: unusable or no longer in the catalog).',
  });
  const expired = meter.createCounter('footfall_collector_series_expired_total', {
    description:
      'Series forgotten (gone from /metrics and the state file) after being idle for limits.seriesIdleExpiry.',
  });
  meter
    .createObservableGauge('footfall_collector_series', {
      description:
        'Series footfall keeps, per family (capped at limits.maxSeriesPerMetric, the overflow series included).',
    })
    .addCallback((result) => {
      for (const [family, n] of sources.seriesPerFamily()) {
        result.observe(n, { family });
      }
    });
  const requests = createTally(
    meter,
    'footfall_collector_requests_total',
    "Ingest requests (OTLP exports, and the old panel's /write payloads as encoding macropower) by HTTP status code, outcome reason and encoding."
  );
  const accepted = createTally(meter, 'footfall_collector_points_accepted_total', 'Data points recorded.');
  const refused = createTally(
    meter,
    'footfall_collector_points_refused_total',
    'Data points refused (reported to the sender as partial success), by reason.'
  );
  const skipped = createTally(
    meter,
    'footfall_collector_points_skipped_total',
    'Data points left out without a refusal, by reason (no_recorded_value: the sender flagged the point as empty).'
  );
  const dropped = createTally(
    meter,
    'footfall_collector_attributes_dropped_total',
    'Attributes removed from data points (privacy policy, limits), by reason.'
  );
  const overflow = createTally(
    meter,
    'footfall_collector_series_overflow_total',
    'Points folded into the otel_metric_overflow series because their metric reached its series cap.'
  );
  const auth = createTally(
    meter,
    'footfall_collector_auth_total',
    'Authorize decisions by auth mode and outcome (verified, cached, unauthorized, grafana_unavailable, ...).'
  );
  const forwardExports = meter.createCounter('footfall_collector_forward_exports_total', {
    description: 'Requests to the forward upstream, by result (ok; partial: points rejected; failed after retries).',
  });
  const forwardFailed = meter.createCounter('footfall_collector_forward_points_failed_total', {
    description:
      'Data points that will not reach the forward upstream, by reason (rejected, refused, export_failed, queue_full, too_large, shutdown).',
  });
  meter
    .createObservableGauge('footfall_collector_forward_queued_points', {
      description:
        'Data points waiting for the forward upstream: failed delta exports kept for a retry, and the request being sent.',
    })
    .addCallback((result) => {
      const queued = sources.forwardQueuedPoints?.();
      if (queued !== undefined) {
        result.observe(queued);
      }
    });
  const listings = meter.createCounter('footfall_collector_inventory_refreshes_total', {
    description:
      "Listings of Grafana's dashboards, per org token, by result (ok, unauthorized, http_error, garbage, unreachable, too_many, empty).",
  });
  if (sources.inventory) {
    const inventory = sources.inventory;
    meter
      .createObservableGauge('footfall_collector_inventory_dashboards', {
        description: 'Dashboards in the inventory (the last good listing of each org).',
      })
      .addCallback((result) => result.observe(inventory.dashboards()));
    meter
      .createObservableGauge('footfall_collector_inventory_last_success_timestamp_seconds', {
        description: 'When every org was last listed, in Unix seconds: alert when it falls behind.',
        unit: 's',
      })
      .addCallback((result) => {
        const at = inventory.lastSuccess();
        if (at !== undefined) {
          result.observe(at / 1000);
        }
      });
  }
  const decodeTime = meter.createHistogram('footfall_collector_decode_duration_seconds', {
    description: 'Time to decode a request body.',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05] },
  });

  // One attribute object per encoding, made once: the histogram is recorded on every request.
  const byEncoding = new Map<RequestEncoding, Attributes>();
  const encodingAttributes = (encoding: RequestEncoding): Attributes => {
    let attributes = byEncoding.get(encoding);
    if (attributes === undefined) {
      attributes = { encoding };
      byEncoding.set(encoding, attributes);
    }
    return attributes;
  };

  return {
    request(status, reason, encoding) {
      requests.add(1, `${status} ${reason} ${encoding}`, () => ({ code: String(status), reason, encoding }));
    },
    decoded(encoding, seconds) {
      decodeTime.record(seconds, encodingAttributes(encoding));
    },
    authenticated(mode, outcome) {
      auth.add(1, `${mode} ${outcome}`, () => ({ mode, outcome }));
    },
    forwardExported(result) {
      forwardExports.add(1, { result });
    },
    forwardLost(points, reason) {
      forwardFailed.add(points, { reason });
    },
    stateRestored(restored, skipped) {
      stateEntries.add(restored, { result: 'restored' });
      stateEntries.add(skipped, { result: 'skipped' });
    },
    seriesExpired(count) {
      expired.add(count);
    },
    inventoryListed(result) {
      listings.add(1, { result });
    },
    ingested(stats) {
      if (stats.accepted > 0) {
        accepted.add(stats.accepted, '', () => ({}));
      }
      for (const [reason, n] of stats.refused) {
        refused.add(n, reason, () => ({ reason }));
      }
      for (const [reason, n] of stats.skipped) {
        skipped.add(n, reason, () => ({ reason }));
      }
      for (const [reason, n] of stats.droppedAttributes) {
        dropped.add(n, reason, () => ({ reason }));
      }
      for (const [metric, n] of stats.overflowByMetric) {
        overflow.add(n, metric, () => ({ metric }));
      }
    },
  };
}
