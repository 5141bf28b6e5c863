import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import type { Server } from "socket.io";
import type { Logger } from "../logger.js";
import type { StoredPayment } from "../payment.js";
import type { ClusterLink, ClusterStatus } from "./cluster-link.js";
import { CLUSTER_PAYMENT_EVENT, fromClusterMessage, toClusterMessage } from "./cluster-message.js";

export interface RedisClusterLinkOptions {
  url: string;
  logger: Logger;
  /** Channel prefix shared by the nodes of one cluster. @default "tributary" */
  key?: string;
  /**
   * Most publishes waiting on Redis before new ones are shed. Bounds the
   * publisher's memory when Redis is slow; shed payments still reach the
   * other nodes, from the store, on the next resync.
   * @default 10000
   */
  maxPendingPublishes?: number;
  onShed?: () => void;
}

const RESYNC_EVENT = "tributary:resync";
/** After shedding, ask the other nodes to resync at most this often. */
const RESYNC_REQUEST_INTERVAL_MS = 1000;

/**
 * The cluster link over the official Socket.IO Redis adapter: payments go
 * to the other nodes as server-side events, and each node emits them to its
 * own sockets through its gateway (which keeps them in order).
 */
export function createRedisClusterLink(options: RedisClusterLinkOptions): ClusterLink {
  const { logger } = options;
  const maxPending = options.maxPendingPublishes ?? 10_000;
  // No retry limit: a command waiting for Redis is resent on reconnect, never
  // rejected into an unhandled promise inside the adapter. The pending bound
  // above keeps that queue small.
  const pub = new Redis(options.url, { maxRetriesPerRequest: null, lazyConnect: false });
  const sub = pub.duplicate();
  let io: Server | undefined;
  let shed = 0;
  let resyncOwed = false;
  let lastResyncRequest = 0;
  let wasReady = false;
  let retryTimer: NodeJS.Timeout | undefined;

  // Asks the other nodes to catch up from the store, at most once a second;
  // retried on a timer so that a shed with no publish after it is not forgotten.
  const requestResync = () => {
    if (!resyncOwed || io === undefined || retryTimer !== undefined) return;
    const wait = lastResyncRequest + RESYNC_REQUEST_INTERVAL_MS - Date.now();
    if (wait > 0 || !ready()) {
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        requestResync();
      }, Math.max(wait, RESYNC_REQUEST_INTERVAL_MS)).unref();
      return;
    }
    resyncOwed = false;
    lastResyncRequest = Date.now();
    io.serverSideEmit(RESYNC_EVENT);
  };

  for (const [name, client] of [
    ["publisher", pub],
    ["subscriber", sub],
  ] as const) {
    // Without a listener, ioredis reports every failed reconnect as an unhandled error event.
    client.on("error", (error: Error) => logger.warn({ err: error, client: name }, "redis connection error"));
  }

  const ready = () => pub.status === "ready" && sub.status === "ready";

  return {
    adapter: createAdapter(pub, sub, { key: options.key ?? "tributary" }),

    attach(server, handlers) {
      io = server;
      server.on(CLUSTER_PAYMENT_EVENT, (message: unknown) => {
        const payment = fromClusterMessage(message);
        if (payment === undefined) logger.warn("ignored a malformed cluster payment message");
        else handlers.fromOtherNodes(payment);
      });
      server.on(RESYNC_EVENT, () => handlers.resync());
      sub.on("ready", () => {
        // The subscription was down: whatever other nodes published meanwhile
        // never arrived. Local rooms catch up from the store.
        if (wasReady) {
          logger.info("redis link is back; resyncing local rooms from the store");
          handlers.resync();
        }
        wasReady = true;
      });
      if (sub.status === "ready") wasReady = true;
    },

    publish(payment: StoredPayment) {
      if (io === undefined) return;
      if (!ready() || pub.commandQueue.length >= maxPending) {
        shed++;
        resyncOwed = true;
        options.onShed?.();
        requestResync();
        return;
      }
      io.serverSideEmit(CLUSTER_PAYMENT_EVENT, toClusterMessage(payment));
      requestResync();
    },

    status(): ClusterStatus {
      return { state: ready() ? "connected" : "disconnected", shed };
    },

    async close() {
      clearTimeout(retryTimer);
      await Promise.allSettled([pub.quit(), sub.quit()]);
      pub.disconnect();
      sub.disconnect();
    },
  };
}
