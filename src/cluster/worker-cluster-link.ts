import { createAdapter } from "@socket.io/cluster-adapter";
import type { Server } from "socket.io";
import type { Logger } from "../logger.js";
import type { StoredPayment } from "../payment.js";
import type { ClusterLink } from "./cluster-link.js";
import { fromClusterMessage, toClusterMessage, type ClusterPaymentMessage } from "./cluster-message.js";

/** Committed payments, in commit order, as an array per message. */
const PAYMENTS_EVENT = "tributary:payments";

export interface WorkerClusterLinkOptions {
  logger: Logger;
  /** Whether the IPC channel to the primary is open; the worker shuts down when it closes. */
  isConnected: () => boolean;
}

/**
 * The link between the worker processes of one node, over the official
 * Socket.IO cluster adapter: payments committed on one worker go to the
 * others as server-side events, relayed by the primary over IPC. IPC does
 * not drop messages while both ends live, so there is nothing to shed; a
 * worker that was down lost its sockets with it, and its clients resubscribe
 * with `since`.
 */
export function createWorkerClusterLink(options: WorkerClusterLinkOptions): ClusterLink {
  let io: Server | undefined;
  // The payments of one turn (a group commit delivers many) cross in one IPC
  // message: each message costs a write, a read and a decode in four processes.
  let pending: ClusterPaymentMessage[] = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    if (io !== undefined && options.isConnected()) io.serverSideEmit(PAYMENTS_EVENT, batch);
  };
  return {
    adapter: createAdapter(),

    attach(server, handlers) {
      io = server;
      server.on(PAYMENTS_EVENT, (messages: unknown) => {
        if (!Array.isArray(messages)) {
          options.logger.warn("ignored a malformed payments message from another worker");
          return;
        }
        for (const message of messages) {
          const payment = fromClusterMessage(message);
          if (payment === undefined) options.logger.warn("ignored a malformed payment message from another worker");
          else handlers.fromOtherNodes(payment);
        }
      });
    },

    publish(payment: StoredPayment) {
      if (io === undefined || !options.isConnected()) return;
      pending.push(toClusterMessage(payment));
      if (pending.length === 1) queueMicrotask(flush);
    },

    status() {
      return { state: options.isConnected() ? "connected" : "disconnected", shed: 0 };
    },

    close: async () => undefined,
  };
}
