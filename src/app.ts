import type { AddressInfo } from "node:net";
import { setupWorker as setupStickyWorker } from "@socket.io/sticky";
import type { FastifyInstance } from "fastify";
import type { Config } from "./config.js";
import { ServiceError } from "./errors.js";
import { PaymentGateway } from "./gateway/payment-gateway.js";
import { createHttpServer } from "./http/http-server.js";
import { createApiKeyCheck, createApiKeyMatcher } from "./http/api-key-auth.js";
import { ClientAddressResolver } from "./limits/client-address.js";
import { ConnectionLimiter } from "./limits/connection-limiter.js";
import { addressGroup } from "./limits/address-group.js";
import { RefusalLog } from "./limits/refusal-log.js";
import { TcpConnectionCap } from "./limits/tcp-connection-cap.js";
import { createHistoryRateLimit } from "./http/history-rate-limit.js";
import { createJwtAuthorizer, openSubscriptions, type SubscribeAuthorizer } from "./gateway/subscribe-authorizer.js";
import type { HealthReport } from "./health/health-report.js";
import { PaymentIngest } from "./ingest/payment-ingest.js";
import { createLogger, type Logger } from "./logger.js";
import { createMetrics, type Metrics } from "./metrics.js";
import type { PaymentSource } from "./sources/payment-source.js";
import { RedisStreamSource } from "./sources/redis-stream/redis-stream-source.js";
import { SolanaChainWatcher } from "./sources/solana/chain-watcher.js";
import { createSingleNodeLink, type ClusterLink } from "./cluster/cluster-link.js";
import { createRedisClusterLink } from "./cluster/redis-cluster-link.js";
import { createWorkerClusterLink } from "./cluster/worker-cluster-link.js";
import { registryMetricsView } from "./metrics-view.js";
import type { PrimaryChannel } from "./workers/primary-channel.js";
import { primaryMetricsView } from "./workers/primary-metrics-view.js";
import { webRoot } from "./package-root.js";
import { openStore } from "./store/open-store.js";
import { openWebhookStore } from "./webhooks/open-webhook-store.js";
import { startRetentionJob, type RetentionJob } from "./store/retention-job.js";
import { StoreFatalError, type PaymentStore } from "./store/payment-store.js";
import { createApiKeyOwner } from "./http/api-key-auth.js";
import { createWebhookService, type WebhookService } from "./webhooks/webhook-service.js";
import type { Resolver } from "./webhooks/webhook-sender.js";
import type { WebhookStore } from "./webhooks/webhook-store.js";

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
 * The one place where drivers are chosen and parts are wired together.
 * Nothing here is global: every call builds a complete, independent service.
 */
export async function createApp(config: Config, dependencies: AppDependencies = {}): Promise<App> {
  const logger = dependencies.logger ?? createLogger(config.LOG_LEVEL);
  const metrics = dependencies.metrics ?? createMetrics();
  const store = dependencies.store ?? (await openStore(config.database));
  const startedAt = Date.now();
  let draining = false;

  const ingest = new PaymentIngest({
    store,
    metrics,
    logger: logger.child({ component: "ingest" }),
    // The gateway is built below; ingest only calls this after start-up.
    onPolicyStored: (event) => {
      gateway.sendPolicyToRoom(event);
      webhooks.wake();
    },
    onStored: (payment) => {
      gateway.sendToRoom(payment);
      cluster.publish(payment);
      webhooks.wake();
    },
    onFatalStoreError: (error) => onFatalStoreError(error),
  });

  let storeBroken = false;
  function onFatalStoreError(error: StoreFatalError): void {
    if (storeBroken) return;
    storeBroken = true;
    logger.fatal({ err: error }, "the payment store is broken");
    (dependencies.onFatalStoreError ?? (() => void close("has a broken payment store")))(error);
  }

  const { worker } = dependencies;
  // Redis joins every worker of every node; without it, worker processes are joined over IPC.
  const cluster: ClusterLink =
    config.REDIS_URL !== undefined
      ? createRedisClusterLink({
          url: config.REDIS_URL,
          logger: logger.child({ component: "cluster" }),
          maxPendingPublishes: config.CLUSTER_MAX_PENDING_PUBLISHES,
          onShed: () => metrics.clusterShed.inc(),
        })
      : worker !== undefined
        ? createWorkerClusterLink({ logger: logger.child({ component: "cluster" }), isConnected: () => worker.primary.connected })
        : createSingleNodeLink();
  const metricsView = worker === undefined ? registryMetricsView(metrics.registry) : primaryMetricsView(metrics.registry, worker.primary, worker.index);
  const runsNodeJobs = worker === undefined || worker.index === 0;

  // The sources configured, each feeding the same ingest through its own sink.
  const sources: PaymentSource[] = [];
  if (runsNodeJobs && config.SOLANA_RPC_URL !== undefined) {
    sources.push(
      new SolanaChainWatcher({
        rpcUrl: config.SOLANA_RPC_URL,
        wsUrl: config.SOLANA_WS_URL,
        programId: config.TRIBUTARY_PROGRAM_ID,
        commitment: config.SOLANA_COMMITMENT,
        startFrom: config.SOLANA_START_FROM,
        sink: ingest.sinkFor("solana"),
        policies: { sink: ingest.sinkFor("solana"), directory: store },
        checkpoints: store,
        logger: logger.child({ component: "source", source: "solana" }),
        registry: metrics.registry,
      }),
    );
  }

  if (runsNodeJobs && config.INGEST_REDIS_STREAM !== undefined && config.REDIS_URL !== undefined) {
    sources.push(
      new RedisStreamSource({
        url: config.REDIS_URL,
        stream: config.INGEST_REDIS_STREAM,
        group: config.INGEST_REDIS_GROUP,
        consumer: config.INGEST_REDIS_CONSUMER,
        maxDeliveries: config.INGEST_REDIS_MAX_DELIVERIES,
        claimMinIdleMs: config.INGEST_REDIS_CLAIM_IDLE_MS,
        batchSize: config.INGEST_REDIS_BATCH_SIZE,
        sink: ingest.sinkFor("redis-stream"),
        policies: { sink: ingest.sinkFor("redis-stream"), directory: store },
        logger: logger.child({ component: "source" }),
        registry: metrics.registry,
      }),
    );
  }

  const webhooks = await createWebhookService({
    config,
    store: dependencies.webhookStore ?? (await openWebhookStore(config.database)),
    registry: metrics.registry,
    logger: logger.child({ component: "webhooks" }),
    // Delivery runs once per node, like the sources; every worker serves the routes.
    dispatch: runsNodeJobs,
    ...(dependencies.webhookResolver === undefined ? {} : { resolver: dependencies.webhookResolver }),
  });

  const processHealth = async (): Promise<HealthReport> => {
    const storeOk = await store.ping().then(
      () => true,
      (error: unknown) => {
        logger.warn({ err: error }, "store health check failed");
        // Found broken by a health check rather than a publish: same answer, so a quiet node does not linger unhealthy.
        if (error instanceof StoreFatalError) onFatalStoreError(error);
        return false;
      },
    );
    const sourceStatus = Object.fromEntries(sources.map((source) => [source.name, source.status()]));
    const sourcesHealthy = Object.values(sourceStatus).every((status) => status.state !== "failed" && status.state !== "reconnecting");
    const clusterStatus = cluster.status();
    return {
      status: draining
        ? "draining"
        : !storeOk
          ? "unavailable"
          : sourcesHealthy && clusterStatus.state !== "disconnected"
            ? "ok"
            : "degraded",
      cluster: clusterStatus,
      store: storeOk ? "ok" : "error",
      connections: gateway.connectionCount,
      sources: sourceStatus,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      webhooks: await webhooks.health(),
    };
  };
  // With worker processes, the node's health is every worker's process health, gathered by the primary.
  worker?.primary.onHealthProbe(processHealth);
  const health =
    worker === undefined ? processHealth : async (): Promise<HealthReport> => (await worker.primary.ask("health")) as HealthReport;

  const addresses = new ClientAddressResolver(config.TRUSTED_PROXIES);
  const groupOf = (address: string) => addressGroup(address, config.IPV6_PREFIX_LENGTH);
  const refusals = new RefusalLog(logger.child({ component: "auth" }));
  const identifyApiKey = createApiKeyMatcher(config.TRIBUTARY_API_KEYS);
  const checkApiKey = createApiKeyCheck(config.TRIBUTARY_API_KEYS);
  const authorizer: SubscribeAuthorizer =
    config.SUBSCRIBE_AUTH === "jwt"
      ? createJwtAuthorizer({
          ...(config.SUBSCRIBE_JWT_SECRET === undefined ? {} : { secret: config.SUBSCRIBE_JWT_SECRET }),
          ...(config.SUBSCRIBE_JWKS_URL === undefined ? {} : { jwks: config.SUBSCRIBE_JWKS_URL }),
          audience: config.SUBSCRIBE_JWT_AUDIENCE ?? "",
          ...(config.SUBSCRIBE_JWT_ISSUER === undefined ? {} : { issuer: config.SUBSCRIBE_JWT_ISSUER }),
        })
      : openSubscriptions;

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
      checkApiKey,
      historyRateLimit: createHistoryRateLimit({
        perAddressPerSecond: config.HISTORY_RATE_PER_SECOND,
        perAddressBurst: config.HISTORY_BURST,
        perKeyPerSecond: config.HISTORY_KEY_RATE_PER_SECOND,
        identifyApiKey,
        addressGroup: groupOf,
        onLimited: (limit) => metrics.limited.inc({ limit }),
      }),
      ...(authorizer.enabled
        ? {
            // A publisher's API key or a subscription token covering the tracking ID.
            authorizeHistory: async (authorization: string | undefined, trackingId: string) => {
              if (identifyApiKey(authorization) !== undefined) return;
              const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
              const verdict = await authorizer.authorize(trackingId, { payload: token });
              if (verdict.ok) return;
              refusals.refused("subscription_token", { trackingId, over: "http" }, `refused a history read: ${verdict.message}`);
              throw new ServiceError("UNAUTHORIZED", verdict.message);
            },
          }
        : {}),
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

  const gateway = new PaymentGateway({
    adapter: cluster.adapter,
    httpServer: http.server,
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
      latestPolicyOffset: (trackingId) => store.latestPolicyOffset(trackingId),
    },
  });

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

  let closing: Promise<void> | undefined;
  const close = (reason = "is shutting down"): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      logger.info({ reason }, "draining");
      retention.stop();
      // Stop taking new TCP connections first; established ones finish below.
      // A worker does not listen (its primary does): closing its server would
      // emit "close" at once, and Engine.IO would drop every client untold.
      if (http.server.listening) http.server.close();
      // Sources first, so that nothing new starts; then the ingests in flight finish.
      await Promise.allSettled(sources.map((source) => source.stop()));
      await ingest.idle();
      await webhooks.stop(config.SHUTDOWN_TIMEOUT_MS / 4);
      await gateway.dropAll(`Server ${reason}; reconnect to continue`, config.SHUTDOWN_TIMEOUT_MS / 2);
      await http.close();
      await gateway.close();
      await cluster.close();
      await webhooks.close();
      await store.close();
      logger.info("closed");
    })();
    return closing;
  };

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
      await http.listen({ port: config.PORT, host: config.HOST });
      // Sources start once clients can be served, so their first payments reach someone.
      for (const source of sources) await source.start();
      webhooks.start();
      const address = http.server.address() as AddressInfo;
      logger.info({ host: address.address, port: address.port, path: "/ws/v1" }, "listening");
      warnWithoutApiKeys();
      return address;
    },
    async serveFromPrimary() {
      if (worker === undefined) throw new Error("serveFromPrimary is for worker processes; call listen()");
      await http.ready();
      setupStickyWorker(gateway.io);
      for (const source of sources) await source.start();
      webhooks.start();
      if (runsNodeJobs) warnWithoutApiKeys();
    },
    close,
  };
}
