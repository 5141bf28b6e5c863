import type { FastifyInstance } from "fastify";
import type { ClusterStatus } from "../../cluster/cluster-link.js";
import type { MetricsView } from "../../metrics-view.js";
import type { SourceStatus } from "../../sources/payment-source.js";

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

export interface HealthRoutesOptions {
  health: () => Promise<HealthReport>;
  metrics: MetricsView;
}

export function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): void {
  app.get("/v1/health", async (_request, reply) => {
    const report = await options.health();
    return reply.code(report.status === "ok" || report.status === "degraded" ? 200 : 503).send(report);
  });

  app.get("/metrics", async (_request, reply) => {
    const body = await options.metrics.text();
    return reply.type(options.metrics.contentType).send(body);
  });
}
