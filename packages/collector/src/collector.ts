import { once } from 'node:events';
import { createServer, type Server, type ServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import {
  createAggregator,
  createCollectorMeterProvider,
  createHistogramStore,
  createStateFile,
  snapshotState,
  CATALOG_METER,
  ATTR,
  METRIC_CATALOG,
  type CatalogMetric,
} from './aggregate/index.js';
import { createAuthenticator, type Authenticator } from './authorize/index.js';
import type { CollectorConfig } from './config/index.js';
import { createJsonCodec, createProtobufCodec } from './decode/index.js';
import { createHealth, createPrometheusExposition } from './expose/index.js';
import { createForwardReader } from './forward/index.js';
import { createAttributeLimiter, createSeriesCap } from './limits/index.js';
import { createPipeline, type Pipeline } from './pipeline.js';
import { createPrivacyPolicy } from './privacy/index.js';
import { createAdmission, createClientAddress, createOriginPolicy, createOtlpHandler } from './receive/index.js';
import { createSelfMetrics } from './self-metrics.js';
import { VERSION } from './version.js';

export interface Collector {
  readonly app: express.Express;
  readonly pipeline: Pipeline;
  /** Restores the state file if there is one, then starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(): Promise<AddressInfo>;
  /** Where /metrics is served apart (server.metricsListen), once listening; undefined when it is served on the main listener. */
  metricsAddress(): AddressInfo | undefined;
  /**
   * Stops accepting, lets in-flight requests finish (cutting them off at server.shutdownTimeoutMs),
   * saves the state file, then shuts the SDK down.
   */
  close(): Promise<void>;
  /** Writes the state file now (also done periodically and on close); a no-op without state.file. */
  saveState(): Promise<void>;
}

export interface CollectorOptions {
  readonly logger: Logger;
  /** Only tests replace the catalog. */
  readonly catalog?: readonly CatalogMetric[];
  /** Only tests replace the authorize stage (the default is the one auth.mode names). */
  readonly authenticator?: Authenticator;
}

/** Wires the stages from a validated configuration: receive → decode → privacy → limits → aggregate → expose. */
export function createCollector(config: CollectorConfig, options: CollectorOptions): Collector {
  const { logger } = options;
  const catalog = options.catalog ?? METRIC_CATALOG;

  const histograms = createHistogramStore(catalog);
  // The self-metrics that count forward results need the MeterProvider the forward reader is part of.
  let onForwarded: (points: number, delivered: boolean) => void = () => undefined;
  const forward = config.forward;
  const forwardReader = forward.endpoint
    ? createForwardReader({
        url: forward.endpoint,
        headers: { ...forward.headers, ...(forward.bearerToken ? { Authorization: `Bearer ${forward.bearerToken}` } : {}) },
        compression: forward.compression,
        temporality: forward.temporality,
        intervalMs: forward.intervalSeconds * 1000,
        timeoutMs: forward.timeoutSeconds * 1000,
        tls: forward.tls,
        meterName: CATALOG_METER,
        derivedNames: new Set(catalog.flatMap((m) => (m.legacy ? [m.legacy.prometheus] : []))),
        histograms,
        onExport: (points, delivered) => onForwarded(points, delivered),
      })
    : undefined;
  const exposition = createPrometheusExposition([histograms]);
  const meterProvider = createCollectorMeterProvider({
    catalog,
    readers: [exposition.exporter, ...(forwardReader ? [forwardReader] : [])],
    maxSeriesPerMetric: config.limits.maxSeriesPerMetric,
    serviceVersion: VERSION,
  });
  const selfMetrics = createSelfMetrics(meterProvider);
  onForwarded = (points, delivered) => selfMetrics.forwarded(points, delivered);
  const health = createHealth();
  const seriesCap = createSeriesCap(config.limits.maxSeriesPerMetric);
  const aggregator = createAggregator({ catalog, meterProvider, histograms });
  const authenticator = options.authenticator ?? createAuthenticator(config.auth);
  const stateFile = config.state.file === undefined ? undefined : createStateFile(config.state.file, logger);
  let draining = false;
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
    seriesCap,
    aggregator,
    selfMetrics,
    maxPointsPerRequest: config.limits.maxPointsPerRequest,
  });

  const otlp = createOtlpHandler({
    codecs: [createJsonCodec(), createProtobufCodec()],
    pipeline,
    selfMetrics,
    maxBodyBytes: config.server.maxBodyBytes,
    bodyIdleTimeoutMs: config.server.bodyIdleTimeoutMs,
    logger,
    origins: createOriginPolicy({
      allowedOrigins: config.server.allowedOrigins,
      enforce: authenticator.mode === 'grafana-session' || authenticator.mode === 'proxy-header',
    }),
    admission: createAdmission(config.admission),
    authenticator,
    clientAddress: createClientAddress({ trustedProxies: config.server.trustedProxies }),
    draining: () => draining,
  });

  /** An express app with the given routes, a 404 for anything else and a 500 for a failure. */
  function routes(add: (app: express.Express) => void): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.disable('etag');
    add(app);
    app.use((_req: Request, res: Response) => void res.status(404).type('text/plain').send('not found\n'));
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      logger.error({ err }, 'request failed');
      if (!res.headersSent) res.status(500).type('text/plain').send('internal error\n');
    });
    return app;
  }
  // With server.metricsListen, /metrics (every dashboard's usage) moves to a listener of its own, which
  // need not be published beside the ingest port; the probes answer on both, so a check of the ingest
  // listener stays what it was.
  const metricsApart = config.server.metricsListen !== undefined;
  const app = routes((a) => {
    a.all('/v1/metrics', otlp);
    if (!metricsApart) a.get('/metrics', exposition.handle);
    a.get('/healthz', health.live);
    a.get('/readyz', health.ready);
  });

  // OTLP exports, the hot path, skip express's router and request/response decoration: measured with
  // bench/, that took a one-point export from 147 to 50 µs of server CPU. The express route above
  // serves the same handler to anything else (a query string, an embedding app).
  // Short timeouts: a slow client must not hold a socket (and an admission slot) for Node's default
  // 5 minutes. Node enforces them only every connectionsCheckingInterval (30 s by default), and only
  // when given at creation; the header timeout cannot exceed the whole request's.
  const serverOptions: ServerOptions = {
    connectionsCheckingInterval: 1000,
    requestTimeout: config.server.requestTimeoutMs,
    headersTimeout: Math.min(config.server.headersTimeoutMs, config.server.requestTimeoutMs),
    keepAliveTimeout: config.server.keepAliveTimeoutMs,
  };
  const server: Server = createServer(serverOptions, (req, res) => {
    if (req.url === '/v1/metrics') void otlp(req, res);
    else app(req, res);
  });
  const metricsServer: Server | undefined = metricsApart
    ? createServer(
        serverOptions,
        routes((a) => {
          a.get('/metrics', exposition.handle);
          a.get('/healthz', health.live);
          a.get('/readyz', health.ready);
        }),
      )
    : undefined;

  /** Stops accepting, lets in-flight requests finish, and cuts off what is left at the shutdown deadline. */
  async function stop(target: Server): Promise<void> {
    if (!target.listening) return;
    const closed = once(target, 'close');
    target.close();
    // close() only drops the connections idle at that moment; a keep-alive connection whose request
    // was in flight turns idle when it is answered, and would hold the server open until the cut-off.
    const sweep = setInterval(() => target.closeIdleConnections(), 50);
    target.closeIdleConnections();
    // In-flight requests get most of the budget; whatever is left then is cut off, so the state
    // is still saved in time.
    const cutOff = setTimeout(() => {
      logger.warn('requests still in flight at the shutdown deadline: closing their connections');
      target.closeAllConnections();
    }, Math.max(0, config.server.shutdownTimeoutMs - 2000));
    await closed;
    clearTimeout(cutOff);
    clearInterval(sweep);
  }

  let saving: Promise<void> = Promise.resolve();
  let saveTimer: NodeJS.Timeout | undefined;

  /** One save at a time, in order: a periodic save never races the final one. */
  function saveState(): Promise<void> {
    if (!stateFile) return Promise.resolve();
    // `saving` never rejects, so a failed save (a full disk) does not stop the ones after it.
    saving = saving
      .then(async () => {
        const { resourceMetrics } = await exposition.exporter.collect();
        await stateFile.save(snapshotState(resourceMetrics));
      })
      .catch((err: unknown) => {
        logger.error({ stateFile: stateFile.path, err: (err as Error).message }, 'could not save the state file');
      });
    return saving;
  }

  async function restoreState(): Promise<void> {
    const state = await stateFile?.load();
    if (!state) return;
    const { restored, skipped } = aggregator.restore(state, seriesCap);
    logger.info({ stateFile: stateFile!.path, savedAt: state.savedAt, restored, skipped }, 'counters restored from the state file');
  }

  return {
    app,
    pipeline,
    saveState,
    async listen() {
      await restoreState();
      if (metricsServer && config.server.metricsListen) {
        metricsServer.listen(config.server.metricsListen.port, config.server.metricsListen.host);
        await once(metricsServer, 'listening');
        const { address, port } = metricsServer.address() as AddressInfo;
        logger.info({ address: `${address}:${port}` }, 'serving /metrics on its own listener');
      }
      server.listen(config.server.listen.port, config.server.listen.host);
      await once(server, 'listening');
      if (stateFile) {
        saveTimer = setInterval(() => void saveState(), config.state.intervalSeconds * 1000);
        saveTimer.unref();
      }
      health.setReady(true);
      return server.address() as AddressInfo;
    },
    metricsAddress() {
      return metricsServer?.listening ? (metricsServer.address() as AddressInfo) : undefined;
    },
    async close() {
      draining = true;
      health.setReady(false);
      clearInterval(saveTimer);
      await Promise.all([stop(server), ...(metricsServer ? [stop(metricsServer)] : [])]);
      await saveState();
      await meterProvider.shutdown();
    },
  };
}
