/** The chain watcher's metrics, registered on the registry the app passes in. */
import { Counter, Gauge, type Registry } from "prom-client";

export type EventOutcome =
  | "ingested"
  | "empty_memo"
  | "invalid_tracking_id"
  | "timestamp_out_of_range"
  | "malformed";

/** What became of a policy lifecycle event found in the logs. */
export type PolicyEventOutcome = "ingested" | "malformed" | "invalid_memo" | "unknown_policy";

export interface WatcherMetrics {
  events: Counter<"outcome">;
  policyEvents: Counter<"event" | "outcome">;
  /** How a policy's tracking ID was found: directory hit, learned, read from its account. */
  policyLookups: Counter<"result">;
  transactions: Counter<"path" | "outcome">;
  logAnomalies: Counter<"kind">;
  reconnects: Counter;
  rpcRetries: Counter<"method">;
  lagSlots: Gauge;
  lastProcessedSlot: Gauge;
}

export function createWatcherMetrics(registry: Registry, prefix = "tributary_solana_"): WatcherMetrics {
  const registers = [registry];
  return {
    events: new Counter({
      name: `${prefix}events_total`,
      help: "PaymentRecord events seen in Tributary logs, by outcome (anything but ingested was skipped)",
      labelNames: ["outcome"],
      registers,
    }),
    policyEvents: new Counter({
      name: `${prefix}policy_events_total`,
      help: "Policy lifecycle events (PaymentPolicyCreated, StatusChanged, Deleted) by outcome; malformed: a layout that fits no known one, unknown_policy: no tracking ID could be found",
      labelNames: ["event", "outcome"],
      registers,
    }),
    policyLookups: new Counter({
      name: `${prefix}policy_lookups_total`,
      help: "Tracking ID look-ups for a policy address: directory (already known), account (read by getAccountInfo), account_missing, account_invalid",
      labelNames: ["result"],
      registers,
    }),
    transactions: new Counter({
      name: `${prefix}transactions_total`,
      help: "Transactions examined, by path (live, backfill) and outcome (processed, failed_tx)",
      labelNames: ["path", "outcome"],
      registers,
    }),
    logAnomalies: new Counter({
      name: `${prefix}log_anomalies_total`,
      help: "Log problems: truncated logs (events may be lost), lines out of invoke nesting, malformed notifications",
      labelNames: ["kind"],
      registers,
    }),
    reconnects: new Counter({
      name: `${prefix}reconnects_total`,
      help: "Pub/sub sessions that ended and were reopened",
      registers,
    }),
    rpcRetries: new Counter({
      name: `${prefix}rpc_retries_total`,
      help: "HTTP RPC attempts retried after a timeout, 429, 5xx or transient node error",
      labelNames: ["method"],
      registers,
    }),
    lagSlots: new Gauge({
      name: `${prefix}lag_slots`,
      help: "Tip slot minus the slot up to which the watcher has processed everything",
      registers,
    }),
    lastProcessedSlot: new Gauge({
      name: `${prefix}last_processed_slot`,
      help: "Slot of the last checkpointed transaction",
      registers,
    }),
  };
}
