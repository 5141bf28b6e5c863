import type { FastifyInstance } from "fastify";
import { sumSamples, type MetricsView } from "../../metrics-view.js";

/** A small, stable summary for dashboards (the live payments page polls it); /metrics has the rest. */
export interface StatsReport {
  connections: number;
  subscriptions: number;
  /** Payments newly stored since start, all sources; a client derives a rate from two readings. */
  paymentsIngestedTotal: number;
  deliveriesTotal: number;
  /** Server time (ms) of the reading, so that a rate is computed over the server's interval. */
  timestamp: number;
}

export interface StatsRoutesOptions {
  metrics: MetricsView;
}

export function statsRoutes(app: FastifyInstance, options: StatsRoutesOptions): void {
  app.get("/v1/stats", async (_request, reply): Promise<StatsReport> => {
    // A dashboard polls this; a cached copy would show a frozen rate.
    void reply.header("cache-control", "no-store");
    const exposition = await options.metrics.text();
    return {
      connections: sumSamples(exposition, "tributary_connections"),
      subscriptions: sumSamples(exposition, "tributary_subscriptions"),
      paymentsIngestedTotal: sumSamples(exposition, "tributary_payments_ingested_total"),
      deliveriesTotal: sumSamples(exposition, "tributary_deliveries_total"),
      timestamp: Date.now(),
    };
  });
}
