import { createAdapter } from "@socket.io/cluster-adapter";
import type { Server } from "socket.io";
import type { Logger } from "../logger.js";
import type { StoredPayment } from "../payment.js";
import type { ClusterLink } from "./cluster-link.js";
import { CLUSTER_PAYMENT_EVENT, fromClusterMessage, toClusterMessage } from "./cluster-message.js";

export interface WorkerClusterLinkOptions {
  logger: Logger;
  /** Whether the IPC channel to the primary is open; the worker shuts down when it closes. */
  isConnected: () => boolean;
}

/**
 * The link between the worker processes of one node, over the official
 * Socket.IO cluster adapter: a payment committed on one worker goes to the
 * others as a server-side event, relayed by the primary over IPC. IPC does
 * not drop messages while both ends live, so there is nothing to shed; a
 * worker that was down lost its sockets with it, and its clients resubscribe
 * with `since`.
 */
export function createWorkerClusterLink(options: WorkerClusterLinkOptions): ClusterLink {
  let io: Server | undefined;
  return {
    adapter: createAdapter(),

    attach(server, handlers) {
      io = server;
      server.on(CLUSTER_PAYMENT_EVENT, (message: unknown) => {
        const payment = fromClusterMessage(message);
        if (payment === undefined) options.logger.warn("ignored a malformed payment message from another worker");
        else handlers.deliver(payment);
      });
    },

    publish(payment: StoredPayment) {
      if (io === undefined || !options.isConnected()) return;
      io.serverSideEmit(CLUSTER_PAYMENT_EVENT, toClusterMessage(payment));
    },

    status() {
      return { state: options.isConnected() ? "connected" : "disconnected", shed: 0 };
    },

    close: async () => undefined,
  };
}
