import { pino } from 'pino';
import { configSchema, createCollector, type Collector } from '../packages/collector/dist/index.js';

export interface CollectorServerOptions {
  /** Lifetime series cap per metric; the scrape and heap benchmarks need room for 100k series. */
  readonly maxSeriesPerMetric?: number;
  /** The bodies that fill 100k series carry 1000 points each, far over the 64 KiB default. */
  readonly maxBodyBytes?: number;
  /** Where to save the state; the saves the benchmark measures are the ones it asks for. */
  readonly stateFile?: string;
}

/**
 * The collector exactly as `createCollector` wires it (express, decode, privacy, limits, SDK
 * aggregation, Prometheus exposition), from the compiled dist so that what is measured is what ships.
 * Only the limits the benchmark needs differ from the defaults, and the admission budget is lifted out
 * of the way: these benchmarks measure capacity (admission control still runs on every request; its
 * shedding is measured by bench/overload.ts).
 */
export function createCollectorServer(options: CollectorServerOptions = {}): Collector {
  const config = configSchema.parse({
    server: { listen: '127.0.0.1:0', ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}) },
    limits: options.maxSeriesPerMetric ? { maxSeriesPerMetric: options.maxSeriesPerMetric } : {},
    admission: {
      maxRequestsPerSecond: 1_000_000,
      burst: 1_000_000,
      maxConcurrentRequests: 100_000,
      maxHeapFraction: 1,
    },
    // The longest interval allowed, so no periodic save lands inside another measurement.
    state: options.stateFile ? { file: options.stateFile, intervalSeconds: 3600 } : {},
    log: { level: 'silent' },
  });
  return createCollector(config, { logger: pino({ level: 'silent' }) });
}
