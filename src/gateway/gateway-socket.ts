import type { Socket } from "socket.io";
import type { ServerToClientEvents, SubscriptionResponse } from "../protocol/wire.js";

// Client payloads are untrusted, so handlers take what arrives and check it.
export interface ClientToServerEvents {
  subscribe: (...args: unknown[]) => void;
  unsubscribe: (...args: unknown[]) => void;
}

export type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents>;

/** The client's acknowledgement callback, when it passed one. */
export type Acknowledge = (response: SubscriptionResponse) => void;
