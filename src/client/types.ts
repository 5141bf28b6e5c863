/**
 * The client's public types. They are declared here rather than imported
 * from the server's modules so that the client bundle pulls in nothing of the
 * server; a type-level test keeps both sides in step.
 */

export type PaymentStatus = "executed" | "failed" | "pending";

/** The `data` of a `payment` event exactly as it travels on the wire. */
export interface WirePayment {
  trackingId: string;
  amount: number;
  amountRaw: string;
  timestamp: number;
  status: string;
  signature: string;
  id: string;
  offset: number;
  eventIndex: number;
  paymentPolicy?: string;
  gateway?: string;
  payer?: string;
  recipient?: string;
  tokenMint?: string;
  recordId?: number;
  slot?: number;
}

/**
 * A payment as the client hands it to a subscriber.
 *
 * `amount` is the exact u64 as a `bigint`, parsed from the wire's `amountRaw`.
 * The wire's own `amount` field is a JSON number that is rounded above 2^53,
 * so it is kept, renamed, as `amountNumber` for display code that wants a
 * number and can live with that; `amountRaw` stays as the exact decimal string
 * because a `bigint` cannot go through `JSON.stringify`.
 */
export interface Payment {
  /** Stable identity, `<signature>:<eventIndex>`. */
  id: string;
  /** Position in the tracking ID's log: 1, 2, 3 … without gaps. */
  offset: number;
  trackingId: string;
  amount: bigint;
  amountRaw: string;
  amountNumber: number;
  /** Chain time, unix seconds. */
  timestamp: number;
  // Unknown future statuses still arrive; the literal union keeps editor completion.
  status: PaymentStatus | (string & {});
  signature: string;
  eventIndex: number;
  paymentPolicy?: string;
  gateway?: string;
  payer?: string;
  recipient?: string;
  tokenMint?: string;
  recordId?: number;
  slot?: number;
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
  | "INVALID_TRACKING_ID"
  | "INVALID_SINCE"
  | "SUBSCRIPTION_LIMIT"
  | "STORE_UNAVAILABLE"
  | "CONNECTION_ERROR"
  | "REPLAY_TRUNCATED"
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
