import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ErrorCode } from "./errors.js";

/**
 * The service's Prometheus metrics, on a registry of its own: several app
 * instances in one process (as the tests run them) never share counters.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly connections: Gauge;
  readonly subscriptions: Gauge;
  readonly paymentsIngested: Counter<"source">;
  readonly paymentsDuplicate: Counter<"source">;
  readonly policyEventsIngested: Counter<"source">;
  readonly policyDeliveries: Counter;
  readonly deliveries: Counter;
  readonly replays: Gauge;
  /** Dropped sessions held for recovery: their rooms count against the subscription caps. */
  readonly recoverySessions: Gauge;
  readonly clusterShed: Counter;
  readonly publishToEmitSeconds: Histogram;
  readonly storeCommitSeconds: Histogram;
  readonly errors: Counter<"code">;
  /** Refusals by the abuse limits, by limit: what a flood or a scan looks like from the inside. */
  readonly limited: Counter<"limit">;
  countError(code: ErrorCode): void;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const errors = new Counter({
    name: "tributary_errors_total",
    help: "Errors returned to clients, by error code",
    labelNames: ["code"] as const,
    registers: [registry],
  });
  return {
    registry,
    connections: new Gauge({
      name: "tributary_connections",
      help: "Socket.IO connections open on this node",
      registers: [registry],
    }),
    subscriptions: new Gauge({
      name: "tributary_subscriptions",
      help: "Tracking-ID subscriptions held by the sockets of this node",
      registers: [registry],
    }),
    paymentsIngested: new Counter({
      name: "tributary_payments_ingested_total",
      help: "Payments newly stored, by source",
      labelNames: ["source"] as const,
      registers: [registry],
    }),
    paymentsDuplicate: new Counter({
      name: "tributary_payments_duplicate_total",
      help: "Payments received again and absorbed by the identity rule, by source",
      labelNames: ["source"] as const,
      registers: [registry],
    }),
    policyEventsIngested: new Counter({
      name: "tributary_policy_events_ingested_total",
      help: "Policy lifecycle events newly stored, by source",
      labelNames: ["source"] as const,
      registers: [registry],
    }),
    policyDeliveries: new Counter({
      name: "tributary_policy_deliveries_total",
      help: "Policy events emitted to sockets of this node (one per socket)",
      registers: [registry],
    }),
    deliveries: new Counter({
      name: "tributary_deliveries_total",
      help: "Payment events emitted to sockets of this node (one per socket)",
      registers: [registry],
    }),
    clusterShed: new Counter({
      name: "tributary_cluster_shed_total",
      help: "Payments not sent to other nodes because Redis was down or backed up; those nodes catch up from the store",
      registers: [registry],
    }),
    replays: new Gauge({
      name: "tributary_replays_in_progress",
      help: "Subscriptions still catching up from the store (subscribe with since)",
      registers: [registry],
    }),
    recoverySessions: new Gauge({
      name: "tributary_recovery_sessions",
      help: "Dropped Socket.IO sessions held for connection-state recovery; their rooms count against the subscription caps",
      registers: [registry],
    }),
    publishToEmitSeconds: new Histogram({
      name: "tributary_publish_to_emit_seconds",
      help: "Time from a payment reaching the service to its emit, store commit included",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    storeCommitSeconds: new Histogram({
      name: "tributary_store_commit_seconds",
      help: "Time an append waited until the store answered: its group commit with the fsync (SQLite) or its transaction (PostgreSQL); one per publish request or source batch",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    errors,
    limited: new Counter({
      name: "tributary_limited_total",
      help: "Requests, events, connections and subscriptions refused or cut off by an abuse limit, by limit",
      labelNames: ["limit"] as const,
      registers: [registry],
    }),
    countError: (code) => errors.inc({ code }),
  };
}
