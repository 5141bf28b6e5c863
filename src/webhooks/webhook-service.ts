import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Registry } from "prom-client";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { OutboundPolicy } from "./outbound-policy.js";
import { WebhookDispatcher } from "./webhook-dispatcher.js";
import { createWebhookMetrics } from "./webhook-metrics.js";
import { WebhookSender, type Resolver } from "./webhook-sender.js";
import type { WebhookStore } from "./webhook-store.js";

export interface WebhookServiceOptions {
  config: Config;
  store: WebhookStore;
  registry: Registry;
  logger: Logger;
  /** Whether this process delivers (and reports the store's webhook gauges); false in worker processes that only serve the routes. */
  dispatch: boolean;
  resolver?: Resolver;
  /** This node's name in leases; default `<hostname>-<pid>-<random>`. */
  node?: string;
}

export interface WebhookHealth {
  endpoints: number;
  disabled: number;
  backlog: number;
  oldestPendingAgeSeconds: number;
}

/** The webhook parts of one app: their store, the outbound policy, and the dispatcher when this process delivers. */
export interface WebhookService {
  readonly store: WebhookStore;
  readonly policy: OutboundPolicy;
  readonly node: string;
  start(): void;
  /** A payment or policy event stored here: delivered now if an endpoint may want it (WebhookDispatcher.logGrew). */
  logGrew(): void;
  /** An endpoint added or changed, or messages queued: deliver now rather than at the next poll. */
  wake(): void;
  health(): Promise<WebhookHealth | "error">;
  /** Stops delivering; attempts in flight get `graceMs` to finish, then their leases are left to expire. */
  stop(graceMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function createWebhookService(options: WebhookServiceOptions): Promise<WebhookService> {
  const { config, store, logger } = options;
  const node = options.node ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  const policy = new OutboundPolicy(config.WEBHOOK_ALLOWED_HOSTS);
  const metrics = createWebhookMetrics(options.registry, options.dispatch ? () => store.totals() : undefined);
  const sender = new WebhookSender({
    policy,
    connectTimeoutMs: config.WEBHOOK_CONNECT_TIMEOUT_MS,
    responseTimeoutMs: config.WEBHOOK_TIMEOUT_MS,
    ...(options.resolver === undefined ? {} : { resolver: options.resolver }),
  });
  const dispatcher = options.dispatch
    ? new WebhookDispatcher({
        store,
        sender,
        metrics,
        logger,
        node,
        retryScheduleMs: config.WEBHOOK_RETRY_SCHEDULE_MS,
        disableAfterMs: config.WEBHOOK_DISABLE_AFTER_MS,
        // Past one attempt's longest run, so a lease only expires on a node that stopped mid-attempt.
        leaseMs: config.WEBHOOK_CONNECT_TIMEOUT_MS + config.WEBHOOK_TIMEOUT_MS + 1000,
        pollIntervalMs: config.WEBHOOK_POLL_INTERVAL_MS,
        maxInFlightPerEndpoint: config.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT,
        maxInFlight: config.WEBHOOK_MAX_IN_FLIGHT,
        logRetentionMs: config.WEBHOOK_LOG_RETENTION_MS,
      })
    : undefined;
  return {
    store,
    policy,
    node,
    start: () => dispatcher?.start(),
    logGrew: () => dispatcher?.logGrew(),
    wake: () => dispatcher?.wake(),
    async health() {
      try {
        const totals = await store.totals();
        return {
          endpoints: totals.endpoints,
          disabled: totals.disabled,
          backlog: totals.pending,
          oldestPendingAgeSeconds:
            totals.oldestPendingAt === undefined ? 0 : Math.max(0, Math.round((Date.now() - totals.oldestPendingAt) / 1000)),
        };
      } catch (error) {
        logger.warn({ err: error }, "webhook store health check failed");
        return "error";
      }
    },
    async stop(graceMs) {
      await dispatcher?.stop(graceMs);
    },
    async close() {
      await dispatcher?.stop(0);
      sender.close();
      await store.close();
    },
  };
}
