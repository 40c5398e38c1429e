import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import {
  createAggregator,
  createCollectorMeterProvider,
  createHistogramStore,
  ATTR,
  METRIC_CATALOG,
  type CatalogMetric,
} from './aggregate/index.js';
import type { CollectorConfig } from './config/index.js';
import { createJsonCodec, createProtobufCodec } from './decode/index.js';
import { createHealth, createPrometheusExposition } from './expose/index.js';
import { createAttributeLimiter, createSeriesCap } from './limits/index.js';
import { createPipeline, type Pipeline } from './pipeline.js';
import { createPrivacyPolicy } from './privacy/index.js';
import { createOtlpHandler } from './receive/index.js';
import { createSelfMetrics } from './self-metrics.js';
import { VERSION } from './version.js';

export interface Collector {
  readonly app: express.Express;
  readonly pipeline: Pipeline;
  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish, then shuts the SDK down. */
  close(): Promise<void>;
}

export interface CollectorOptions {
  readonly logger: Logger;
  /** Only tests replace the catalog. */
  readonly catalog?: readonly CatalogMetric[];
}

/** Wires the stages from a validated configuration: receive → decode → privacy → limits → aggregate → expose. */
export function createCollector(config: CollectorConfig, options: CollectorOptions): Collector {
  const { logger } = options;
  const catalog = options.catalog ?? METRIC_CATALOG;

  const histograms = createHistogramStore(catalog);
  const exposition = createPrometheusExposition([histograms]);
  const meterProvider = createCollectorMeterProvider({
    catalog,
    readers: [exposition.exporter],
    maxSeriesPerMetric: config.limits.maxSeriesPerMetric,
    serviceVersion: VERSION,
  });
  const selfMetrics = createSelfMetrics(meterProvider);
  const hash = config.privacy.hash;
  const pipeline = createPipeline({
    privacy: createPrivacyPolicy({
      mode: config.privacy.mode,
      deny: config.privacy.deny,
      allow: config.privacy.allow,
      hash: hash.enabled ? { secret: hash.secret!, from: hash.from } : undefined,
      // The one attribute the catalog declares for it.
      pseudonymKey: ATTR.USER_HASH,
      redactEmailValues: config.privacy.redactEmailValues,
    }),
    limiter: createAttributeLimiter(config.limits),
    seriesCap: createSeriesCap(config.limits.maxSeriesPerMetric),
    aggregator: createAggregator({ catalog, meterProvider, histograms }),
    selfMetrics,
    maxPointsPerRequest: config.limits.maxPointsPerRequest,
  });
  const health = createHealth();

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const otlp = createOtlpHandler({
    codecs: [createJsonCodec(), createProtobufCodec()],
    pipeline,
    selfMetrics,
    maxBodyBytes: config.server.maxBodyBytes,
    logger,
  });
  app.all('/v1/metrics', otlp);
  app.get('/metrics', exposition.handle);
  app.get('/healthz', health.live);
  app.get('/readyz', health.ready);
  app.use((_req: Request, res: Response) => void res.status(404).type('text/plain').send('not found\n'));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    logger.error({ err }, 'request failed');
    if (!res.headersSent) res.status(500).type('text/plain').send('internal error\n');
  });

  // OTLP exports, the hot path, skip express's router and request/response decoration: measured with
  // bench/, that took a one-point export from 147 to 50 µs of server CPU. The express route above
  // serves the same handler to anything else (a query string, an embedding app).
  const server: Server = createServer((req, res) => {
    if (req.url === '/v1/metrics') void otlp(req, res);
    else app(req, res);
  });
  // Short timeouts: a slow client must not hold a socket for Node's default 5 minutes.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 15_000;

  return {
    app,
    pipeline,
    async listen() {
      server.listen(config.server.listen.port, config.server.listen.host);
      await once(server, 'listening');
      health.setReady(true);
      return server.address() as AddressInfo;
    },
    async close() {
      health.setReady(false);
      if (server.listening) {
        const closed = once(server, 'close');
        server.close();
        server.closeIdleConnections();
        await closed;
      }
      await meterProvider.shutdown();
    },
  };
}
