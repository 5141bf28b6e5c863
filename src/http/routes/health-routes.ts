import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import type { ClusterStatus } from "../../cluster/cluster-link.js";
import type { SourceStatus } from "../../sources/payment-source.js";

export interface HealthReport {
  /** `degraded` still serves clients (200) but a source or the cluster link is not healthy. */
  status: "ok" | "degraded" | "unavailable" | "draining";
  store: "ok" | "error";
  connections: number;
  cluster: ClusterStatus;
  sources: Record<string, SourceStatus>;
  uptimeSeconds: number;
}

export interface HealthRoutesOptions {
  health: () => Promise<HealthReport>;
  registry: Registry;
}

export function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): void {
  app.get("/v1/health", async (_request, reply) => {
    const report = await options.health();
    return reply.code(report.status === "ok" || report.status === "degraded" ? 200 : 503).send(report);
  });

  app.get("/metrics", async (_request, reply) => {
    const body = await options.registry.metrics();
    return reply.type(options.registry.contentType).send(body);
  });
}
