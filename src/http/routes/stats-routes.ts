import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { sumSamples, type MetricsView } from "../../metrics-view.js";
import { errorResponse } from "../openapi/error-response.js";
import type { RouteDescription } from "../openapi/route-description.js";

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

export const statsReportSchema = z.object({
  connections: z.number().int().min(0),
  subscriptions: z.number().int().min(0),
  paymentsIngestedTotal: z.number().int().min(0).describe("Payments newly stored since start, all sources"),
  deliveriesTotal: z.number().int().min(0),
  timestamp: z.number().int().describe("Server time (ms) of the reading"),
}) satisfies z.ZodType<StatsReport>;

const statsDescription: RouteDescription = {
  operationId: "getStats",
  summary: "A small summary for dashboards",
  description: "Totals since the node started; a rate is the difference of two readings over their timestamps.",
  tags: ["operations"],
  responses: {
    200: { description: "The node's counts", schema: statsReportSchema },
    503: errorResponse("The node is draining for shutdown", "SHUTTING_DOWN"),
  },
};

export interface StatsRoutesOptions {
  metrics: MetricsView;
}

export function statsRoutes(app: FastifyInstance, options: StatsRoutesOptions): void {
  app.get("/v1/stats", { config: { openapi: statsDescription } }, async (_request, reply): Promise<StatsReport> => {
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
