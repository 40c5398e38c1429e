import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type ServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import {
  CATALOG_METER,
  combineProducers,
  counterFamilies,
  createAggregator,
  createCounterStore,
  createHistogramStore,
  createStateFile,
  expireIdleSeries,
  shareCollections,
  snapshotState,
  ATTR,
  METRIC_CATALOG,
  type CatalogMetric,
} from './aggregate/index.js';
import { createAuthenticator, grafanaFetch, type Authenticator } from './authorize/index.js';
import type { CollectorConfig } from './config/index.js';
import { createJsonCodec, createProtobufCodec } from './decode/index.js';
import { createHealth, createPrometheusExposition } from './expose/index.js';
import { createForwarder, type Forwarder } from './forward/index.js';
import { createDashboardLedger, createDashboardsProducer, createInventory, type Inventory } from './inventory/index.js';
import { createAttributeLimiter, createSenderBudget, createSeriesRegistry, labelValue } from './limits/index.js';
import { createPipeline, type Pipeline } from './pipeline.js';
import { createLegacyWriteHandler } from './macropower/index.js';
import { containsEmailAddress, createPrivacyPolicy, REDACTED } from './privacy/index.js';
import {
  createAdmission,
  createClientAddress,
  createOriginPolicy,
  createOtlpHandler,
  type IngestRouteSettings,
} from './receive/index.js';
import { wireDiagnostics } from './diagnostics.js';
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
  /** The dashboard inventory, when inventory.token or inventory.orgs configure one. */
  readonly inventory: Inventory | undefined;
  /** Forgets the series idle longer than limits.seriesIdleExpiry now (also done periodically); resolves with how many. */
  expireIdleSeries(): Promise<number>;
}

export interface CollectorOptions {
  readonly logger: Logger;
  /** Only tests replace the catalog. */
  readonly catalog?: readonly CatalogMetric[];
  /** Only tests replace the authorize stage (the default is the one auth.mode names). */
  readonly authenticator?: Authenticator;
  /** Only tests replace the clock (ms since the epoch) that series ages are kept on. */
  readonly now?: () => number;
}

/** Who the collector is, on its own metrics and on what it forwards. */
const SERVICE = { 'service.name': 'footfall-collector', 'service.version': VERSION } as const;

/** How often idle series are looked for: a quarter of the expiry, between a second and an hour. */
function sweepIntervalMs(idleExpiryMs: number): number {
  return Math.min(3_600_000, Math.max(1000, idleExpiryMs / 4));
}

/** Wires the stages from a validated configuration: receive → decode → privacy → limits → aggregate → expose. */
export function createCollector(config: CollectorConfig, options: CollectorOptions): Collector {
  const { logger } = options;
  const catalog = options.catalog ?? METRIC_CATALOG;
  const now = options.now ?? Date.now;
  wireDiagnostics(logger);

  const limits = config.limits;
  const histograms = createHistogramStore(catalog);
  const registry = createSeriesRegistry({
    maxSeriesPerFamily: limits.maxSeriesPerMetric,
    idleExpiryMs: limits.seriesIdleExpiry,
    budget: createSenderBudget({ perHour: limits.newSeriesPerUserPerHour, maxSenders: 100_000 }),
  });
  const counters = createCounterStore({
    families: counterFamilies(catalog, config.legacy.labels),
    cardinalityLimit: limits.maxSeriesPerMetric + 2,
  });
  const aggregator = createAggregator({
    catalog,
    counters,
    histograms,
    registry,
    legacyLabels: config.legacy.labels,
    now,
  });
  const catalogData = combineProducers([counters, histograms]);
  // The scrape and the state save share a collection when they meet (one walk over every series).
  const sharedCatalogData = shareCollections(catalogData);

  // Without an inventory the ledger holds only uids whose sessions were admitted without overflow.
  const ledger = createDashboardLedger(config.inventory.maxDashboards + limits.maxSeriesPerMetric);
  const inventory = createInventoryStage(config, logger, ledger, now, (result) => selfMetrics.inventoryListed(result));
  const exposition = createPrometheusExposition([sharedCatalogData, createDashboardsProducer(inventory, ledger)]);
  const meterProvider = new MeterProvider({
    resource: resourceFromAttributes(SERVICE),
    readers: [exposition.exporter],
  });
  let forwarder: Forwarder | undefined;
  const selfMetrics = createSelfMetrics(meterProvider, {
    seriesPerFamily: () => registry.sizes(),
    forwardQueuedPoints: () => forwarder?.queuedPoints(),
    inventory: inventory && {
      dashboards: () => inventory.dashboards().size,
      lastSuccess: () => inventory.lastSuccess(),
    },
  });
  const health = createHealth();
  const authenticator = options.authenticator ?? createAuthenticator(config.auth);
  const stateFile = config.state.file === undefined ? undefined : createStateFile(config.state.file, logger);
  /**
   * The id kept in the state file (made at the first start), so a restart forwards under the same
   * service.instance.id; a configured one (the pod name) wins over it but is not written in its place.
   */
  let keptInstanceId: string | undefined;
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
    aggregator,
    selfMetrics,
    maxPointsPerRequest: config.limits.maxPointsPerRequest,
    inventory,
    ledger,
    now,
  });

  const ingest: IngestRouteSettings = {
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
    bearerIncrementFactor: config.limits.bearerIncrementFactor,
    clientAddress: createClientAddress({ trustedProxies: config.server.trustedProxies }),
    draining: () => draining,
  };
  const otlp = createOtlpHandler({ ...ingest, codecs: [createJsonCodec(), createProtobufCodec()] });
  const write = createLegacyWriteHandler(ingest, config.legacy.write, now);

  /** An express app with the given routes, a 404 for anything else and a 500 for a failure. */
  function routes(add: (app: express.Express) => void): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.disable('etag');
    add(app);
    app.use((_req: Request, res: Response) => void res.status(404).type('text/plain').send('not found\n'));
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      logger.error({ err }, 'request failed');
      if (!res.headersSent) {
        res.status(500).type('text/plain').send('internal error\n');
      }
    });
    return app;
  }
  // With server.metricsListen, /metrics (every dashboard's usage) moves to a listener of its own, which
  // need not be published beside the ingest port; the probes answer on both, so a check of the ingest
  // listener stays what it was.
  const metricsApart = config.server.metricsListen !== undefined;
  const app = routes((a) => {
    a.all('/v1/metrics', otlp);
    for (const path of config.legacy.write.paths) {
      a.all(path, write);
    }
    if (!metricsApart) {
      a.get('/metrics', exposition.handle);
    }
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
    if (req.url === '/v1/metrics') {
      void otlp(req, res);
    } else {
      app(req, res);
    }
  });
  const metricsServer: Server | undefined = metricsApart
    ? createServer(
        serverOptions,
        routes((a) => {
          a.get('/metrics', exposition.handle);
          a.get('/healthz', health.live);
          a.get('/readyz', health.ready);
        })
      )
    : undefined;

  /** Stops accepting, lets in-flight requests finish, and cuts off what is left at the shutdown deadline. */
  async function stop(target: Server): Promise<void> {
    if (!target.listening) {
      return;
    }
    const closed = once(target, 'close');
    target.close();
    // close() only drops the connections idle at that moment; a keep-alive connection whose request
    // was in flight turns idle when it is answered, and would hold the server open until the cut-off.
    const sweep = setInterval(() => target.closeIdleConnections(), 50);
    target.closeIdleConnections();
    // In-flight requests get most of the budget; whatever is left then is cut off, so the state
    // is still saved in time.
    const cutOff = setTimeout(
      () => {
        logger.warn('requests still in flight at the shutdown deadline: closing their connections');
        target.closeAllConnections();
      },
      Math.max(0, config.server.shutdownTimeoutMs - 2000)
    );
    await closed;
    clearTimeout(cutOff);
    clearInterval(sweep);
  }

  let saving: Promise<void> = Promise.resolve();
  let saveTimer: NodeJS.Timeout | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;

  /**
   * One save at a time, in order: a periodic save never races the final one. A periodic save may take
   * the collection a scrape is making; the final one (`fresh`) collects after the last request.
   */
  function saveState(fresh = false): Promise<void> {
    if (!stateFile) {
      return Promise.resolve();
    }
    // `saving` never rejects, so a failed save (a full disk) does not stop the ones after it.
    saving = saving
      .then(async () => {
        const { resourceMetrics } = await (fresh ? sharedCatalogData.collectFresh() : sharedCatalogData.collect());
        const state = await snapshotState(resourceMetrics, registry.lastUpdated, {
          now: now(),
          instanceId: keptInstanceId,
        });
        await stateFile.save({ ...state, dashboards: await ledger.snapshot(), inventory: inventory?.snapshot() ?? [] });
      })
      .catch((err: unknown) => {
        logger.error({ stateFile: stateFile.path, err: (err as Error).message }, 'could not save the state file');
      });
    return saving;
  }

  async function restoreState(): Promise<void> {
    const parsed = await stateFile?.load();
    if (!parsed) {
      return;
    }
    keptInstanceId = parsed.state.instanceId;
    inventory?.restore(parsed.state.inventory ?? []);
    ledger.restore(parsed.state.dashboards ?? [], now());
    const { restored, skipped } = aggregator.restore(parsed.state);
    selfMetrics.stateRestored(restored, parsed.skipped + skipped);
    logger.info(
      {
        stateFile: stateFile!.path,
        savedAt: new Date(parsed.state.savedAt).toISOString(),
        restored,
        skipped: parsed.skipped + skipped,
      },
      'counters restored from the state file'
    );
  }

  let expiring: Promise<number> = Promise.resolve(0);
  /** Forgets idle series: the registry first (their places are free at once), then their values. */
  function sweepIdleSeries(): Promise<number> {
    expiring = expiring.then(async () => {
      const expired = await expireIdleSeries(registry, { histograms, counters }, now());
      if (expired > 0) {
        selfMetrics.seriesExpired(expired);
      }
      return expired;
    });
    expiring = expiring.catch((err: unknown) => {
      logger.error({ err }, 'could not drop idle series');
      return 0;
    });
    return expiring;
  }

  return {
    app,
    pipeline,
    inventory,
    saveState: () => saveState(),
    expireIdleSeries: sweepIdleSeries,
    async listen() {
      await restoreState();
      keptInstanceId ??= randomUUID();
      if (config.forward.endpoint) {
        forwarder = startForwarder(config.forward.instanceId ?? keptInstanceId);
      }
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
      sweepTimer = setInterval(() => void sweepIdleSeries(), sweepIntervalMs(limits.seriesIdleExpiry));
      sweepTimer.unref();
      inventory?.start();
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
      clearInterval(sweepTimer);
      inventory?.stop();
      await Promise.all([stop(server), ...(metricsServer ? [stop(metricsServer)] : [])]);
      await saveState(true);
      await forwarder?.shutdown();
      await meterProvider.shutdown();
      await counters.shutdown();
    },
  };

  function startForwarder(id: string): Forwarder {
    const forward = config.forward;
    return createForwarder({
      url: forward.endpoint!,
      headers: {
        ...forward.headers,
        ...(forward.bearerToken ? { Authorization: `Bearer ${forward.bearerToken}` } : {}),
      },
      compression: forward.compression,
      temporality: forward.temporality,
      intervalMs: forward.intervalSeconds * 1000,
      timeoutMs: forward.timeoutSeconds * 1000,
      maxPointsPerRequest: forward.maxPointsPerRequest,
      maxBytesPerRequest: forward.maxBytesPerRequest,
      queuePoints: forward.queuePoints,
      tls: forward.tls,
      meterName: CATALOG_METER,
      derivedNames: new Set(catalog.flatMap((m) => (m.derived ?? []).map((d) => d.prometheus))),
      catalog: catalogData,
      resource: { ...SERVICE, 'service.instance.id': id },
      report: { exported: selfMetrics.forwardExported, lost: selfMetrics.forwardLost },
      logger: logger.child({ component: 'forward' }),
    });
  }
}

/** The inventory inventory.token and inventory.orgs configure, or undefined without a token. */
function createInventoryStage(
  config: CollectorConfig,
  logger: Logger,
  ledger: ReturnType<typeof createDashboardLedger>,
  now: () => number,
  report: (result: string) => void
): Inventory | undefined {
  const settings = config.inventory;
  const base = settings.grafanaUrl ?? config.auth.grafana.url;
  const sources = [
    ...(settings.token === undefined ? [] : [{ grafanaUrl: base!, token: settings.token }]),
    ...settings.orgs.map((o) => ({ grafanaUrl: o.grafanaUrl ?? base!, token: o.token })),
  ];
  if (sources.length === 0) {
    return undefined;
  }
  const maxLength = config.limits.maxValueLength;
  return createInventory({
    sources,
    // The auth stage's TLS settings when the inventory asks the same Grafana without its own.
    fetch: grafanaFetch(
      settings.tls.caFile || settings.tls.insecureSkipVerify ? settings.tls : config.auth.grafana.tls
    ),
    intervalMs: settings.intervalSeconds * 1000,
    minIntervalMs: settings.minIntervalSeconds * 1000,
    timeoutMs: settings.timeoutMs,
    pageSize: settings.pageSize,
    maxDashboards: settings.maxDashboards,
    maxPending: settings.maxPending,
    maxPendingPerSender: settings.maxPendingPerSender,
    // The same treatment a browser's values get: well-formed, capped, no e-mail address.
    labelValue: (value) => {
      const text = labelValue(value, maxLength);
      return config.privacy.redactEmailValues && containsEmailAddress(text) ? REDACTED : text;
    },
    ledger,
    // As long as an idle series is kept: a dashboard gone from the listings is forgotten like one.
    forgetUnlistedAfterMs: config.limits.seriesIdleExpiry,
    logger: logger.child({ component: 'inventory' }),
    report,
    now,
  });
}
