import cluster, { type Worker } from "node:cluster";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";
import { setupPrimary as relayClusterAdapter } from "@socket.io/cluster-adapter";
import { Server } from "socket.io";
import type { ClusterLink, ClusterStatus } from "../../src/cluster/cluster-link.js";
import { createRedisClusterLink } from "../../src/cluster/redis-cluster-link.js";
import { createLogger } from "../../src/logger.js";
import type { StoredPayment } from "../../src/payment.js";
import { clusterLinkContract, PROBE_TRACKING_ID, untilLinked, type LinkedNode } from "../support/cluster-link-contract.js";
import type { ContractCommand, ContractReport } from "../support/cluster-link-worker.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";
import { waitUntil } from "../support/wait.js";

/** What a node of a pair heard: the payments, and apart from them the readiness probes. */
class Hearing {
  readonly delivered: StoredPayment[] = [];
  probes = 0;

  hear(payment: StoredPayment): void {
    if (payment.trackingId === PROBE_TRACKING_ID) this.probes++;
    else this.delivered.push(payment);
  }
}

let redis: RedisServer;
let pairs = 0;
before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  await redis.close();
});

clusterLinkContract("redis (between nodes)", async () => {
  const key = `contract-${++pairs}`;
  const nodes = [0, 1].map(() => {
    const link: ClusterLink = createRedisClusterLink({ url: redis.url, logger: createLogger("silent"), key });
    const io = new Server({ adapter: link.adapter });
    const hearing = new Hearing();
    link.attach(io, { fromOtherNodes: (payment) => hearing.hear(payment), resync: () => undefined });
    const node: LinkedNode = {
      publish: async (payments) => payments.forEach((payment) => link.publish(payment)),
      get delivered() {
        return hearing.delivered;
      },
      status: async () => link.status(),
    };
    return { node, hearing, link, io };
  }) as [NodeParts, NodeParts];
  // A link publishes nothing (it sheds) until its Redis connections are ready.
  await waitUntil(() => nodes.every(({ link }) => link.status().state === "connected"), "both links reach Redis");
  await untilLinked(nodes[0].node, nodes[1].hearing);
  await untilLinked(nodes[1].node, nodes[0].hearing);
  return {
    nodes: [nodes[0].node, nodes[1].node],
    async close() {
      // The servers were never attached to an HTTP server: closing the links is all there is.
      for (const { link } of nodes) await link.close();
    },
  };
});

interface NodeParts {
  node: LinkedNode;
  hearing: Hearing;
  link: ClusterLink;
  io: Server;
}

// This test process is the primary: it relays the cluster adapter's messages between its workers, as run-primary does.
cluster.setupPrimary({
  exec: fileURLToPath(new URL("../support/cluster-link-worker.ts", import.meta.url)),
  execArgv: ["--import", "tsx"],
  serialization: "advanced",
});
relayClusterAdapter();

async function workerNode(): Promise<{ node: LinkedNode; hearing: Hearing; worker: Worker }> {
  const worker = cluster.fork();
  const hearing = new Hearing();
  const statusRequests = new Map<number, (status: ClusterStatus) => void>();
  let nextRequest = 0;
  let published: () => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    worker.once("exit", (code) => reject(new Error(`a contract worker exited with ${code} before it was ready`)));
    worker.on("message", (message: ContractReport) => {
      if (message.type === "contract:ready") resolve();
      else if (message.type === "contract:delivered") hearing.hear(message.payment);
      else if (message.type === "contract:published") published();
      else if (message.type === "contract:status") statusRequests.get(message.requestId)?.(message.status as ClusterStatus);
    });
  });
  await ready;
  const command = (message: ContractCommand) => worker.send(message);
  const node: LinkedNode = {
    publish: (payments) => {
      const done = new Promise<void>((resolve) => (published = resolve));
      command({ type: "contract:publish", payments: [...payments] });
      return done;
    },
    get delivered() {
      return hearing.delivered;
    },
    status: () =>
      new Promise((resolve) => {
        const requestId = nextRequest++;
        statusRequests.set(requestId, resolve);
        command({ type: "contract:status", requestId });
      }),
  };
  return { node, hearing, worker };
}

clusterLinkContract("worker processes (within a node)", async () => {
  const nodes = [await workerNode(), await workerNode()] as const;
  await untilLinked(nodes[0].node, nodes[1].hearing);
  await untilLinked(nodes[1].node, nodes[0].hearing);
  return {
    nodes: [nodes[0].node, nodes[1].node],
    async close() {
      await Promise.all(
        nodes.map(async ({ worker }) => {
          const exited = once(worker, "exit");
          worker.send({ type: "contract:close" } satisfies ContractCommand);
          await exited;
        }),
      );
    },
  };
});
