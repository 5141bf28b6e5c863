import type { ClusterStatus } from "../cluster/cluster-link.js";
import type { Logger } from "../logger.js";
import type { PaymentSource } from "../sources/payment-source.js";
import type { HealthReport } from "./health-report.js";

export interface ProcessHealthParts {
  /** Resolves when the store answers; a rejection marks it broken. */
  pingStore: () => Promise<void>;
  /** Told of a failed ping, so a store broken beyond retry shuts the node down as a failed publish would. */
  onStorePingFailed: (error: unknown) => void;
  sources: readonly Pick<PaymentSource, "name" | "status">[];
  cluster: { status(): ClusterStatus };
  gateway: { readonly connectionCount: number };
  webhooks: { health(): Promise<HealthReport["webhooks"]> };
  isDraining: () => boolean;
  startedAt: number;
  logger: Logger;
}

/** This process's health: one worker's share when there are several, the whole node otherwise. */
export function createProcessHealth(parts: ProcessHealthParts): () => Promise<HealthReport> {
  return async () => {
    const storeOk = await parts.pingStore().then(
      () => true,
      (error: unknown) => {
        parts.logger.warn({ err: error }, "store health check failed");
        // Found broken by a health check rather than a publish: same answer, so a quiet node does not linger unhealthy.
        parts.onStorePingFailed(error);
        return false;
      },
    );
    const sourceStatus = Object.fromEntries(parts.sources.map((source) => [source.name, source.status()]));
    const sourcesHealthy = Object.values(sourceStatus).every((status) => status.state !== "failed" && status.state !== "reconnecting");
    const clusterStatus = parts.cluster.status();
    return {
      status: parts.isDraining()
        ? "draining"
        : !storeOk
          ? "unavailable"
          : sourcesHealthy && clusterStatus.state !== "disconnected"
            ? "ok"
            : "degraded",
      cluster: clusterStatus,
      store: storeOk ? "ok" : "error",
      connections: parts.gateway.connectionCount,
      sources: sourceStatus,
      uptimeSeconds: Math.round((Date.now() - parts.startedAt) / 1000),
      webhooks: await parts.webhooks.health(),
    };
  };
}
