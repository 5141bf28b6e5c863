/** The queue source's metrics, registered on the registry the app passes in. */
import { Counter, Gauge, type Registry } from "prom-client";

export interface StreamMetrics {
  consumed: Counter<"via">;
  stored: Counter;
  duplicates: Counter;
  skipped: Counter<"reason">;
  deadLettered: Counter<"reason">;
  failures: Counter<"kind">;
  lag: Gauge;
  pending: Gauge;
}

export function createStreamMetrics(registry: Registry, prefix = "tributary_redis_stream_"): StreamMetrics {
  const registers = [registry];
  return {
    consumed: new Counter({
      name: `${prefix}consumed_total`,
      help: "Stream entries taken by this consumer, by how (read: new entries, claim: pending entries of idle consumers)",
      labelNames: ["via"],
      registers,
    }),
    stored: new Counter({
      name: `${prefix}stored_total`,
      help: "Payments from the stream newly stored",
      registers,
    }),
    duplicates: new Counter({
      name: `${prefix}duplicates_total`,
      help: "Payments from the stream that were already stored (redeliveries, replays) and absorbed",
      registers,
    }),
    skipped: new Counter({
      name: `${prefix}skipped_total`,
      help: "Entries acknowledged without a payment, by reason (empty_memo: nobody can subscribe to it)",
      labelNames: ["reason"],
      registers,
    }),
    deadLettered: new Counter({
      name: `${prefix}dead_lettered_total`,
      help: "Entries moved to the dead-letter stream, by reason (malformed, rejected, max_deliveries)",
      labelNames: ["reason"],
      registers,
    }),
    failures: new Counter({
      name: `${prefix}failures_total`,
      help: "Attempts that left entries unacknowledged for a retry, by kind (redis, store_unavailable, sink_error)",
      labelNames: ["kind"],
      registers,
    }),
    lag: new Gauge({
      name: `${prefix}lag_messages`,
      help: "Entries in the stream the consumer group has not read yet (XINFO GROUPS lag)",
      registers,
    }),
    pending: new Gauge({
      name: `${prefix}pending_messages`,
      help: "Entries the consumer group has read but not acknowledged yet",
      registers,
    }),
  };
}
