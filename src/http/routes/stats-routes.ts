import type { FastifyInstance } from "fastify";
import type { Metrics } from "../../metrics.js";

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
  metrics: Metrics;
  /** Live connection count from the gateway, which the gauge only mirrors. */
  connections: () => number;
}

export function statsRoutes(app: FastifyInstance, options: StatsRoutesOptions): void {
  const { metrics } = options;
  const sum = async (metric: { get(): Promise<{ values: Array<{ value: number }> }> }) =>
    (await metric.get()).values.reduce((total, sample) => total + sample.value, 0);

  app.get("/v1/stats", async (_request, reply): Promise<StatsReport> => {
    // A dashboard polls this; a cached copy would show a frozen rate.
    void reply.header("cache-control", "no-store");
    return {
      connections: options.connections(),
      subscriptions: await sum(metrics.subscriptions),
      paymentsIngestedTotal: await sum(metrics.paymentsIngested),
      deliveriesTotal: await sum(metrics.deliveries),
      timestamp: Date.now(),
    };
  });
}
