import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import type { SourceStatus } from "../../sources/payment-source.js";

export interface HealthReport {
  status: "ok" | "unavailable" | "draining";
  store: "ok" | "error";
  connections: number;
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
    return reply.code(report.status === "ok" ? 200 : 503).send(report);
  });

  app.get("/metrics", async (_request, reply) => {
    const body = await options.registry.metrics();
    return reply.type(options.registry.contentType).send(body);
  });
}
