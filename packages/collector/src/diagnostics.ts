import { diag, DiagLogLevel } from '@opentelemetry/api';
import type { Logger } from 'pino';

/**
 * Sends the OpenTelemetry SDK's own messages (an exporter's failure, a dropped instrument, a view
 * conflict) to the collector's log at warn and above; without a logger the SDK's `diag` says nothing.
 * Its arguments are the SDK's (errors, names), never attribute values of ours.
 */
export function wireDiagnostics(logger: Logger): void {
  const log = logger.child({ component: 'opentelemetry' });
  const details = (args: unknown[]) => ({ details: args.map((a) => (a instanceof Error ? a.message : String(a))) });
  diag.setLogger(
    {
      error: (message, ...args) => log.error(details(args), message),
      warn: (message, ...args) => log.warn(details(args), message),
      info: (message, ...args) => log.info(details(args), message),
      debug: (message, ...args) => log.debug(details(args), message),
      verbose: (message, ...args) => log.trace(details(args), message),
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true }
  );
}
