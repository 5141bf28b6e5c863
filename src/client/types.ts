/**
 * The client's public types. The wire's own types come from src/protocol,
 * the one module the client shares with the server: it holds types only, so
 * the client bundle pulls in nothing of the server.
 */
import type { PaymentNotificationData, PaymentStatus, SocketErrorCode } from "../protocol/wire.js";

export type { PaymentStatus } from "../protocol/wire.js";

/** The `data` of a `payment` event exactly as it travels on the wire. */
export type WirePayment = PaymentNotificationData;

/**
 * A payment as the client hands it to a subscriber.
 *
 * `amount` is the exact u64 as a `bigint`, parsed from the wire's `amountRaw`.
 * The wire's own `amount` field is a JSON number that is rounded above 2^53,
 * so it is kept, renamed, as `amountNumber` for display code that wants a
 * number and can live with that; `amountRaw` stays as the exact decimal string
 * because a `bigint` cannot go through `JSON.stringify`.
 */
export interface Payment extends Omit<WirePayment, "amount" | "status"> {
  amount: bigint;
  amountNumber: number;
  // Unknown future statuses still arrive; the literal union keeps editor completion.
  status: PaymentStatus | (string & {});
}

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "recovered" | "disconnected";

/**
 * Error codes the client reports. The server's own codes arrive as sent;
 * the client adds `INVALID_MESSAGE` (a payment it could not read),
 * `SUBSCRIBE_TIMEOUT` (no answer to a subscribe while connected),
 * `CONNECT_FAILED` (the connection was refused for good) and
 * `HANDLER_ERROR` (a subscriber's handler threw).
 */
export type ClientErrorCode =
  | SocketErrorCode
  | "INVALID_MESSAGE"
  | "SUBSCRIBE_TIMEOUT"
  | "CONNECT_FAILED"
  | "HANDLER_ERROR";

export interface ClientError {
  code: ClientErrorCode | (string & {});
  message: string;
  /** Set when the error concerns one subscription. */
  trackingId?: string;
  /** The thrown value, for `HANDLER_ERROR`. */
  cause?: unknown;
}

export interface SubscribedInfo {
  trackingId: string;
  /** What the client asked to be replayed after; absent for live only. */
  since?: number;
  /** The log's newest offset when the server took the subscription, if it said. */
  latestOffset?: number;
}

export interface PaymentClientEvents {
  state: (state: ConnectionState) => void;
  error: (error: ClientError) => void;
  /** The server accepted a subscribe, the first one or a re-subscribe after a reconnect. */
  subscribed: (info: SubscribedInfo) => void;
}

export type PaymentHandler = (payment: Payment) => void;

export interface SubscribeOptions {
  /** Replay every stored payment with an offset above this one, then continue live. */
  since?: number;
}
