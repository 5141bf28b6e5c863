import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { MetricsView } from "../../metrics-view.js";
import { healthReportSchema, type HealthReport } from "../../health/health-report.js";
import { errorResponse } from "../openapi/error-response.js";
import type { RouteDescription } from "../openapi/route-description.js";

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
