/**
 * A real footfall collector in this process on a loopback port, as test/support/collector.ts starts
 * one, but from the built package (`npm run build`): the panel's type check (lib ES2022) covers every
 * file a panel test imports, and the collector's sources need ES2024.
 */
import { configSchema, createCollector, type CollectorConfigInput } from '@footfall/collector';
import { pino } from 'pino';

export interface RunningCollector {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  close(): Promise<void>;
}

export async function startCollector(input: CollectorConfigInput = {}): Promise<RunningCollector> {
  const config = configSchema.parse({ ...input, server: { listen: '127.0.0.1:0', ...input.server } });
  const collector = createCollector(config, { logger: pino({ level: 'silent' }) });
  const address = await collector.listen();
  return { url: `http://127.0.0.1:${address.port}`, close: () => collector.close() };
}
