import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import type { Config } from "./config.js";
import { ServiceError } from "./errors.js";
import { openClusterLink } from "./cluster/open-cluster-link.js";
import { openAuthorizer } from "./gateway/open-authorizer.js";
import { PaymentGateway } from "./gateway/payment-gateway.js";
import type { HealthReport } from "./health/health-report.js";
import { createProcessHealth } from "./health/process-health.js";
import { createApiKeyCheck, createApiKeyMatcher, createApiKeyOwner } from "./http/api-key-auth.js";
import { createHistoryAuth } from "./http/history-auth.js";
import { createHistoryRateLimit } from "./http/history-rate-limit.js";
import { createHttpServer } from "./http/http-server.js";
import { PaymentIngest } from "./ingest/payment-ingest.js";
import { startInOrder, stopInOrder, type Service } from "./lifecycle.js";
import { addressGroup } from "./limits/address-group.js";
import { ClientAddressResolver } from "./limits/client-address.js";
import { ConnectionLimiter } from "./limits/connection-limiter.js";
import { RefusalLog } from "./limits/refusal-log.js";
import { TcpConnectionCap } from "./limits/tcp-connection-cap.js";
import { createLogger, type Logger } from "./logger.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { cachedMetricsView, registryMetricsView } from "./metrics-view.js";
import { webRoot } from "./package-root.js";
import { openSources } from "./sources/open-sources.js";
import type { PaymentSource } from "./sources/payment-source.js";
import { openStore } from "./store/open-store.js";
import { StoreFatalError, type PaymentStore } from "./store/payment-store.js";
import { startRetentionJob, type RetentionJob } from "./store/retention-job.js";
import { openWebhookStore } from "./webhooks/open-webhook-store.js";
import { createWebhookService, type WebhookService } from "./webhooks/webhook-service.js";
import type { Resolver } from "./webhooks/webhook-sender.js";
import type { WebhookStore } from "./webhooks/webhook-store.js";
import type { PrimaryChannel } from "./workers/primary-channel.js";
import { takeHandedConnections } from "./workers/handed-connections.js";
import { PUBLISHING_WORKER_INDEX } from "./workers/publishing-worker.js";
import { primaryMetricsView } from "./workers/primary-metrics-view.js";

/** Parts a caller may hand in instead of having them built from config (tests, embedding). */
export interface AppDependencies {
  logger?: Logger;
  store?: PaymentStore;
  metrics?: Metrics;
  /** Called when the store breaks beyond retry; `main` shuts down and exits non-zero. */
  onFatalStoreError?: (error: StoreFatalError) => void;
  /** Directory of the built live payments page; `null` serves no page. Default: the package's web/dist. */
  webRoot?: string | null;
  /** Set when this app is one worker process behind a primary (WORKERS above 1). */
  worker?: WorkerRole;
  /** Webhook state; default: opened beside the payment store. */
  webhookStore?: WebhookStore;
  /** How webhook hosts are resolved; tests map names to addresses without DNS. */
  webhookResolver?: Resolver;
}

export interface WorkerRole {
  /** 0 … WORKERS-1; worker 0 also runs the sources and retention, which must run once per node. */
  index: number;
  /** The IPC channel to the primary. */
  primary: PrimaryChannel;
}

export interface App {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly store: PaymentStore;
  readonly ingest: PaymentIngest;
  readonly gateway: PaymentGateway;
  readonly http: FastifyInstance;
  readonly retention: RetentionJob;
  readonly sources: readonly PaymentSource[];
  readonly webhooks: WebhookService;
  listen(): Promise<AddressInfo>;
  /** Worker mode: takes the connections the primary hands over instead of listening. */
  serveFromPrimary(): Promise<void>;
  /** Drains and closes everything; safe to call more than once. */
  close(reason?: string): Promise<void>;
}

/**
 * The one place where drivers are chosen and parts are wired together, each
 * built after everything it uses. Nothing here is global: every call builds a
 * complete, independent service.
 */
export async function createApp(config: Config, dependencies: AppDependencies = {}): Promise<App> {
  const logger = dependencies.logger ?? createLogger(config.LOG_LEVEL);
  const metrics = dependencies.metrics ?? createMetrics();
  const store = dependencies.store ?? (await openStore(config.database));
  const startedAt = Date.now();
  let draining = false;
  const { worker } = dependencies;
  const runsNodeJobs = worker === undefined || worker.index === PUBLISHING_WORKER_INDEX;
  const metricsView = cachedMetricsView(
    worker === undefined ? registryMetricsView(metrics.registry) : primaryMetricsView(metrics.registry, worker.primary, worker.index),
    config.METRICS_CACHE_MS,
  );

  let storeBroken = false;
  // A broken store shuts the node down: the one call back into the wiring, through `close` below.
  function onFatalStoreError(error: StoreFatalError): void {
    if (storeBroken) return;
    storeBroken = true;
    logger.fatal({ err: error }, "the payment store is broken");
    (dependencies.onFatalStoreError ?? (() => void close("has a broken payment store")))(error);
  }

  const cluster = openClusterLink({
    redisUrl: config.REDIS_URL,
    maxPendingPublishes: config.CLUSTER_MAX_PENDING_PUBLISHES,
    workerConnected: worker === undefined ? undefined : () => worker.primary.connected,
    logger: logger.child({ component: "cluster" }),
    onShed: () => metrics.clusterShed.inc(),
  });

  const webhooks = await createWebhookService({
    config,
    store: dependencies.webhookStore ?? (await openWebhookStore(config.database)),
    registry: metrics.registry,
    logger: logger.child({ component: "webhooks" }),
    // Delivery runs once per node, like the sources; every worker serves the routes.
    dispatch: runsNodeJobs,
    ...(dependencies.webhookResolver === undefined ? {} : { resolver: dependencies.webhookResolver }),
  });

  const addresses = new ClientAddressResolver(config.TRUSTED_PROXIES);
  const groupOf = (address: string) => addressGroup(address, config.IPV6_PREFIX_LENGTH);
  const refusals = new RefusalLog(logger.child({ component: "auth" }));
  const identifyApiKey = createApiKeyMatcher(config.TRIBUTARY_API_KEYS);
  const checkApiKey = createApiKeyCheck(config.TRIBUTARY_API_KEYS);
  const authorizer = openAuthorizer(config);

  // Built before the HTTP server and attached to it below, so ingest and health can be handed the gateway itself.
  const gateway = new PaymentGateway({
    adapter: cluster.adapter,
    logger: logger.child({ component: "gateway" }),
    metrics,
    maxSubscriptionsPerSocket: config.MAX_SUBSCRIPTIONS_PER_SOCKET,
    maxHttpBufferSize: config.MAX_HTTP_BUFFER_SIZE,
    recoveryWindowMs: config.RECOVERY_WINDOW_MS,
    recoveryMaxPackets: config.RECOVERY_MAX_PACKETS,
    corsOrigins: config.CORS_ORIGINS,
    replayPageSize: config.REPLAY_PAGE_SIZE,
    authorizer,
    maxSubscriptionsPerNode: config.MAX_SUBSCRIPTIONS_PER_NODE,
    maxSubscriptionsPerAddress: config.MAX_SUBSCRIPTIONS_PER_IP,
    maxRecoverySessions: config.MAX_RECOVERY_SESSIONS,
    refusals,
    clientAddress: (request) => groupOf(addresses.resolve(request.socket.remoteAddress, request.headers["x-forwarded-for"])),
    connectionLimiter: new ConnectionLimiter({
      maxPerAddress: config.MAX_CONNECTIONS_PER_IP,
      newPerSecond: config.MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND,
    }),
    eventRate: {
      perSecond: config.SOCKET_EVENTS_PER_SECOND,
      burst: config.SOCKET_EVENTS_BURST,
      strikes: config.SOCKET_RATE_LIMIT_STRIKES,
    },
    maxBufferedBytesPerSocket: config.MAX_BUFFERED_BYTES_PER_SOCKET,
    history: {
      list: (query) => store.list(query),
      latestOffset: (trackingId) => store.latestOffset(trackingId),
      listPolicyEvents: (query) => store.listPolicyEvents(query),
      heads: (trackingIds) => store.heads(trackingIds),
    },
  });

  const ingest = new PaymentIngest({
    store,
    metrics,
    logger: logger.child({ component: "ingest" }),
    onPolicyStored: (event) => {
      gateway.sendPolicyToRoom(event);
      webhooks.logGrew();
    },
    onStored: (payment) => {
      gateway.sendToRoom(payment);
      cluster.publish(payment);
      webhooks.logGrew();
    },
    onFatalStoreError,
  });

  // The sources configured, each feeding the same ingest through its own sink; once per node.
  const sources: PaymentSource[] = runsNodeJobs
    ? openSources(config, { sinkFor: (source) => ingest.sinkFor(source), directory: store, checkpoints: store, logger, registry: metrics.registry })
    : [];

  const processHealth = createProcessHealth({
    pingStore: () => store.ping(),
    onStorePingFailed: (error) => {
      if (error instanceof StoreFatalError) onFatalStoreError(error);
    },
    sources,
    cluster,
    gateway,
    webhooks,
    isDraining: () => draining,
    startedAt,
    logger,
  });
  // With worker processes, the node's health is every worker's process health, gathered by the primary.
  worker?.primary.onHealthProbe(processHealth);
  const health =
    worker === undefined ? processHealth : async (): Promise<HealthReport> => (await worker.primary.ask("health")) as HealthReport;

  const http = await createHttpServer({
    logger,
    metrics,
    corsOrigins: config.CORS_ORIGINS,
    bodyLimit: config.MAX_BODY_BYTES,
    isTrustedProxy: (address) => addresses.isTrusted(address),
    publishRatePerSecond: config.PUBLISH_RATE_PER_SECOND,
    identifyApiKey,
    checkApiKey,
    addressGroup: groupOf,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    maxJsonDepth: config.MAX_JSON_DEPTH,
    refusals,
    payments: {
      ingest,
      store,
      historyRateLimit: createHistoryRateLimit({
        perAddressPerSecond: config.HISTORY_RATE_PER_SECOND,
        perAddressBurst: config.HISTORY_BURST,
        perKeyPerSecond: config.HISTORY_KEY_RATE_PER_SECOND,
        identifyApiKey,
        addressGroup: groupOf,
        onLimited: (limit) => metrics.limited.inc({ limit }),
      }),
      ...(authorizer.enabled ? { authorizeHistory: createHistoryAuth({ identifyApiKey, authorizer, refusals }) } : {}),
    },
    health: { health, metrics: metricsView },
    stats: { metrics: metricsView },
    webhooks: {
      store: webhooks.store,
      payments: store,
      owner: createApiKeyOwner(config.TRIBUTARY_API_KEYS),
      policy: webhooks.policy,
      maxEndpointsPerKey: config.WEBHOOK_MAX_ENDPOINTS_PER_KEY,
      onQueued: () => webhooks.wake(),
    },
    webRoot: dependencies.webRoot === null ? undefined : (dependencies.webRoot ?? webRoot()),
  });
  new TcpConnectionCap({
    maxPerAddress: config.MAX_HTTP_CONNECTIONS_PER_IP,
    group: groupOf,
    isExempt: (address) => addresses.isTrusted(address),
    onRefused: () => metrics.limited.inc({ limit: "http_connections_per_ip" }),
  }).attach(http.server);
  http.addHook("onRequest", async (request) => {
    if (draining && request.url !== "/v1/health") throw new ServiceError("SHUTTING_DOWN");
  });

  gateway.attach(http.server);
  cluster.attach(gateway.io, {
    fromOtherNodes: (payment) => gateway.sendToRoom(payment),
    resync: () => void gateway.resync(),
  });

  const retention = startRetentionJob(
    store,
    {
      maxAgeSeconds: runsNodeJobs ? config.RETENTION_MAX_AGE_SECONDS : 0,
      maxPerTrackingId: runsNodeJobs ? config.RETENTION_MAX_PER_TRACKING_ID : 0,
      intervalMs: config.RETENTION_INTERVAL_MS,
    },
    logger.child({ component: "retention" }),
  );

  const warnWithoutApiKeys = () => {
    if (config.TRIBUTARY_API_KEYS.length > 0) return;
    logger.warn("no API key is configured, so POST /v1/payments is refused; set TRIBUTARY_API_KEYS=<key>[,<key>…] to enable publishing");
  };

  // The long-running parts. Sources start once clients can be served, so their first payments reach someone.
  const sourcesService: Service = {
    name: "sources",
    start: async () => {
      for (const source of sources) await source.start();
    },
    stop: async () => {
      await Promise.allSettled(sources.map((source) => source.stop()));
    },
  };
  const webhooksService: Service = {
    name: "webhooks",
    start: async () => webhooks.start(),
    // Attempts in flight get a bounded grace; the service closes later, in "webhooks (close)".
    stop: () => webhooks.stop(config.SHUTDOWN_TIMEOUT_MS / 4),
  };
  const listening: Service[] = [
    {
      name: "http",
      start: async () => {
        await http.listen({ port: config.PORT, host: config.HOST });
      },
    },
    sourcesService,
    webhooksService,
  ];
  const servingFromPrimary: Service[] = [
    {
      name: "http (from the primary)",
      start: async () => {
        if (worker === undefined) throw new Error("serveFromPrimary is for worker processes; call listen()");
        await http.ready();
        takeHandedConnections(gateway.io, worker.index, worker.primary);
      },
    },
    sourcesService,
    webhooksService,
  ];
  // Shutdown: refuse new work, let the sources and ingests in flight finish, tell clients, then close from the edge inwards.
  const shutdown: Service[] = [
    {
      name: "draining flag",
      stop: async (reason) => {
        draining = true;
        logger.info({ reason }, "draining");
      },
    },
    { name: "retention", stop: async () => retention.stop() },
    {
      // Stop taking new TCP connections; established ones finish below. A worker does not listen (its primary
      // does): closing its server would emit "close" at once, and Engine.IO would drop every client untold.
      name: "http (stop accepting)",
      stop: async () => {
        if (http.server.listening) http.server.close();
      },
    },
    sourcesService,
    { name: "ingest (in flight)", stop: () => ingest.idle() },
    webhooksService,
    { name: "gateway (drop clients)", stop: (reason) => gateway.dropAll(`Server ${reason}; reconnect to continue`, config.SHUTDOWN_TIMEOUT_MS / 2) },
    { name: "http", stop: () => http.close() },
    { name: "gateway", stop: () => gateway.close() },
    { name: "cluster", stop: () => cluster.close() },
    { name: "webhooks (close)", stop: () => webhooks.close() },
    { name: "store", stop: () => store.close() },
  ];

  let closing: Promise<void> | undefined;
  function close(reason = "is shutting down"): Promise<void> {
    closing ??= (async () => {
      await stopInOrder(shutdown, reason);
      logger.info("closed");
    })();
    return closing;
  }

  return {
    config,
    logger,
    metrics,
    store,
    ingest,
    gateway,
    http,
    retention,
    sources,
    webhooks,
    async listen() {
      await startInOrder(listening);
      const address = http.server.address() as AddressInfo;
      logger.info({ host: address.address, port: address.port, path: "/ws/v1" }, "listening");
      warnWithoutApiKeys();
      return address;
    },
    async serveFromPrimary() {
      await startInOrder(servingFromPrimary);
      if (runsNodeJobs) warnWithoutApiKeys();
    },
    close,
  };
}
