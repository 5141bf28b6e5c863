import type { Server, ServerOptions } from "socket.io";
import type { StoredPayment } from "../payment.js";

export interface ClusterStatus {
  /** `single`: no cluster configured. `connected` / `disconnected`: the link to the other nodes. */
  state: "single" | "connected" | "disconnected";
  /** Payments not sent to other nodes because the link was down or backed up (they catch up from the store). */
  shed: number;
}

/**
 * How payments committed on one node reach the sockets of every other node.
 * A driver carries them; the core keeps the semantics (order, gap filling)
 * in the gateway, so losing a message here costs latency, never a payment.
 */
export interface ClusterLink {
  /** The Socket.IO adapter the gateway is built with; undefined keeps the in-memory one. */
  readonly adapter: ServerOptions["adapter"] | undefined;
  /**
   * Connects the link to the gateway once it exists: `fromOtherNodes` receives
   * payments other nodes committed, `resync` is called after the link was
   * down, so local rooms catch up from the store.
   */
  attach(io: Server, handlers: { fromOtherNodes: (payment: StoredPayment) => void; resync: () => void }): void;
  /** Sends a payment this node committed to the other nodes; never blocks, never throws. */
  publish(payment: StoredPayment): void;
  status(): ClusterStatus;
  close(): Promise<void>;
}

/** One node: nothing to carry. */
export function createSingleNodeLink(): ClusterLink {
  return {
    adapter: undefined,
    attach: () => undefined,
    publish: () => undefined,
    status: () => ({ state: "single", shed: 0 }),
    close: async () => undefined,
  };
}
