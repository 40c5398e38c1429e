import { pino } from 'pino';
import {
  configSchema,
  createCollector,
  type Collector,
  type CollectorConfigInput,
} from '../../packages/collector/src/index.ts';

export interface RunningCollector {
  readonly url: string;
  readonly collector: Collector;
  close(): Promise<void>;
}

/** Starts a collector in this process on a free loopback port, with the given configuration. */
export async function startCollector(input: CollectorConfigInput = {}): Promise<RunningCollector> {
  const config = configSchema.parse({ ...input, server: { listen: '127.0.0.1:0', ...input.server } });
  const collector = createCollector(config, { logger: pino({ level: 'silent' }) });
  const address = await collector.listen();
  return { url: `http://127.0.0.1:${address.port}`, collector, close: () => collector.close() };
}

export { COLLECTOR_MAIN, spawnCollector } from './collector-process.ts';
export type { CollectorProcess } from './collector-process.ts';
