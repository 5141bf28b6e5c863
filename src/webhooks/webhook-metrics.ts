import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { WebhookTotals } from "./webhook-store.js";

export type AttemptResult = "delivered" | "failed" | "timeout" | "network" | "refused" | "gone";

export interface WebhookMetrics {
  /** Attempts by result: what the receivers answer, and what the outbound policy stopped. */
  readonly attempts: Counter<"result">;
  readonly latencySeconds: Histogram;
  readonly endpointsDisabled: Counter<"reason">;
}

/**
 * The webhook metrics, on the app's registry. Backlog and disabled endpoints
 * are read from the store at scrape time when `totals` is given: only in the
 * process that delivers, since worker processes' gauges are summed.
 */
export function createWebhookMetrics(registry: Registry, totals: (() => Promise<WebhookTotals>) | undefined): WebhookMetrics {
  if (totals !== undefined) registerStoreGauges(registry, totals);
  return {
    attempts: new Counter({
      name: "tributary_webhook_attempts_total",
      help: "Webhook delivery attempts of this node, by result",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
    latencySeconds: new Histogram({
      name: "tributary_webhook_attempt_seconds",
      help: "Duration of webhook delivery attempts, until the answer or the failure",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    endpointsDisabled: new Counter({
      name: "tributary_webhook_endpoint_disables_total",
      help: "Webhook endpoints this node disabled, by reason",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
  };
}

function registerStoreGauges(registry: Registry, totals: () => Promise<WebhookTotals>): void {
  let last: Promise<WebhookTotals> | undefined;
  // One store read per scrape serves the three gauges.
  const read = () => (last ??= totals().finally(() => setImmediate(() => (last = undefined))));
  new Gauge({
    name: "tributary_webhook_backlog",
    help: "Webhook messages waiting for delivery (every endpoint, every node)",
    registers: [registry],
    async collect() {
      this.set((await read().catch(() => ({ pending: 0 }))).pending);
    },
  });
  new Gauge({
    name: "tributary_webhook_oldest_pending_seconds",
    help: "Age of the oldest webhook message still waiting for delivery; 0 when none waits",
    registers: [registry],
    async collect() {
      const oldest = (await read().catch(() => ({ oldestPendingAt: undefined }))).oldestPendingAt;
      this.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
    },
  });
  new Gauge({
    name: "tributary_webhook_endpoints_disabled",
    help: "Webhook endpoints disabled (410 Gone, failing too long, or by their owner)",
    registers: [registry],
    async collect() {
      this.set((await read().catch(() => ({ disabled: 0 }))).disabled);
    },
  });
}
