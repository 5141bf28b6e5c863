import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { ClusterStatus } from "../../cluster/cluster-link.js";
import type { MetricsView } from "../../metrics-view.js";
import type { SourceStatus } from "../../sources/payment-source.js";
import { errorResponse } from "../openapi/error-response.js";
import type { RouteDescription } from "../openapi/route-description.js";

export interface HealthReport {
  /** `degraded` still serves clients (200) but a source or the cluster link is not healthy. */
  status: "ok" | "degraded" | "unavailable" | "draining";
  store: "ok" | "error";
  connections: number;
  cluster: ClusterStatus;
  sources: Record<string, SourceStatus>;
  uptimeSeconds: number;
  /** Webhook endpoints and their backlog, over every node; `error` when the webhook store did not answer. */
  webhooks?: { endpoints: number; disabled: number; backlog: number; oldestPendingAgeSeconds: number } | "error";
  /** With worker processes: how many are configured and how many answered for this report. */
  workers?: { configured: number; answering: number };
}

export const healthReportSchema = z.object({
  status: z
    .enum(["ok", "degraded", "unavailable", "draining"])
    .describe("`degraded`: serving (200), but a source, the cluster link or a worker is not healthy"),
  store: z.enum(["ok", "error"]),
  connections: z.number().int().min(0),
  cluster: z.object({
    state: z.enum(["single", "connected", "disconnected"]),
    shed: z.number().int().min(0).describe("Payments not sent to other nodes because the link was down or backed up"),
  }),
  sources: z.record(
    z.string(),
    z.object({
      state: z.enum(["starting", "backfilling", "live", "reconnecting", "stopped", "failed"]),
      lag: z.number().optional(),
      lastPaymentAt: z.number().optional(),
      detail: z.string().optional(),
    }),
  ),
  uptimeSeconds: z.number().int().min(0),
  webhooks: z
    .union([
      z.object({
        endpoints: z.number().int().min(0),
        disabled: z.number().int().min(0),
        backlog: z.number().int().min(0).describe("Messages waiting for delivery"),
        oldestPendingAgeSeconds: z.number().int().min(0).describe("Age of the oldest waiting message; 0 when none waits"),
      }),
      z.literal("error"),
    ])
    .optional()
    .describe("Webhook endpoints and their backlog, over every node; `error` when the webhook store did not answer"),
  workers: z.object({ configured: z.number().int().min(1), answering: z.number().int().min(0) }).optional(),
});

const healthDescription: RouteDescription = {
  operationId: "getHealth",
  summary: "Whether the node serves",
  description: "For load balancer health checks. With worker processes, the node's report whichever worker answers.",
  tags: ["operations"],
  responses: {
    200: { description: "Serving: `ok` or `degraded`", schema: healthReportSchema },
    503: { description: "Not serving: the store cannot take writes (`unavailable`) or the node is `draining`", schema: healthReportSchema },
  },
};

const metricsDescription: RouteDescription = {
  operationId: "getMetrics",
  summary: "Prometheus metrics",
  tags: ["operations"],
  responses: {
    200: { description: "Prometheus text exposition", schema: z.string(), contentType: "text/plain" },
    503: errorResponse("The node is draining for shutdown", "SHUTTING_DOWN"),
  },
};

export interface HealthRoutesOptions {
  health: () => Promise<HealthReport>;
  metrics: MetricsView;
}

export function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): void {
  app.get("/v1/health", { config: { openapi: healthDescription } }, async (_request, reply) => {
    const report = await options.health();
    return reply.code(report.status === "ok" || report.status === "degraded" ? 200 : 503).send(report);
  });

  app.get("/metrics", { config: { openapi: metricsDescription } }, async (_request, reply) => {
    const body = await options.metrics.text();
    return reply.type(options.metrics.contentType).send(body);
  });
}
