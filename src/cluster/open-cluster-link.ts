import type { Logger } from "../logger.js";
import { createSingleNodeLink, type ClusterLink } from "./cluster-link.js";
import { createRedisClusterLink } from "./redis-cluster-link.js";
import { createWorkerClusterLink } from "./worker-cluster-link.js";

export interface ClusterLinkChoice {
  redisUrl: string | undefined;
  maxPendingPublishes: number;
  /** Set in worker mode: whether the IPC channel to the primary is up. */
  workerConnected: (() => boolean) | undefined;
  logger: Logger;
  onShed: () => void;
}

/** Redis joins every worker of every node; without it, worker processes are joined over IPC; else one node alone. */
export function openClusterLink(choice: ClusterLinkChoice): ClusterLink {
  if (choice.redisUrl !== undefined) {
    return createRedisClusterLink({
      url: choice.redisUrl,
      logger: choice.logger,
      maxPendingPublishes: choice.maxPendingPublishes,
      onShed: choice.onShed,
    });
  }
  if (choice.workerConnected !== undefined) return createWorkerClusterLink({ logger: choice.logger, isConnected: choice.workerConnected });
  return createSingleNodeLink();
}
