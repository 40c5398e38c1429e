#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createCollector } from './collector.js';
import { CONFIG_ENV, ConfigError, loadConfig } from './config/index.js';
import { VERSION } from './version.js';

const HELP = `footfall-collector ${VERSION}
Receives dashboard-usage metrics (OTLP/HTTP) from the footfall panel and exposes them to Prometheus.

Usage: footfall-collector [--config FILE] [--listen HOST:PORT] [--log-level LEVEL]

  --config FILE        YAML configuration (default: the embedded defaults)
  --listen HOST:PORT   address to listen on (default 127.0.0.1:4318)
  --log-level LEVEL    fatal, error, warn, info, debug, trace or silent (default info)
  --help               print this help
  --version            print the version

Environment:
${Object.entries(CONFIG_ENV)
  .map(([name, what]) => `  ${name.padEnd(22)} ${what}`)
  .join('\n')}

Endpoints: POST /v1/metrics (OTLP/HTTP, JSON or protobuf), GET /metrics, GET /healthz, GET /readyz.
`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        config: { type: 'string' },
        listen: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean' },
        version: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }

  let config;
  try {
    config = loadConfig({
      file: args.config,
      env: process.env,
      flags: { listen: args.listen, logLevel: args['log-level'] },
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) {
      throw err;
    }
    process.stderr.write(`footfall-collector: ${err.message}\n`);
    return 2;
  }

  const logger = pino({ level: config.log.level, base: { service: 'footfall-collector' } });
  let collector;
  try {
    collector = createCollector(config, { logger });
  } catch (err) {
    // Settings that validate but cannot be used (an unreadable CA file).
    process.stderr.write(`footfall-collector: ${(err as Error).message}\n`);
    return 2;
  }
  if (config.auth.mode === 'none') {
    logger.warn(
      'auth.mode is none: every request is accepted. Fine for local development; set auth.grafana.url before anything but this machine can reach the collector, proxies included'
    );
  }
  const address = await collector.listen();
  logger.info(
    {
      address: `${address.address}:${address.port}`,
      version: VERSION,
      auth: config.auth.mode,
      privacyMode: config.privacy.mode,
      keyedHash: config.privacy.hash.enabled,
      maxSeriesPerMetric: config.limits.maxSeriesPerMetric,
      maxRequestsPerSecond: config.admission.maxRequestsPerSecond,
      stateFile: config.state.file,
    },
    'footfall collector listening'
  );

  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down: draining in-flight requests');
      const timer = setTimeout(() => {
        logger.error('shutdown timed out');
        resolve(1);
      }, config.server.shutdownTimeoutMs);
      timer.unref();
      collector!.close().then(
        () => {
          logger.info('stopped');
          resolve(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(1);
        }
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`footfall-collector: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  }
);
