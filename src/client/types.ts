/**
 * The client's public types. The wire's own types come from src/protocol,
 * the one module the client shares with the server: it holds types only, so
 * the client bundle pulls in nothing of the server.
 */
import type { PaymentNotificationData, PaymentStatus, PolicyStatus, PolicyStatusData, SocketErrorCode } from "../protocol/wire.js";

export type { PaymentStatus, PolicyStatus } from "../protocol/wire.js";

/**
 * The `data` of a `payment` event as it travels on the wire. A newer server
 * may send a status this version does not know, so the client takes any.
 */
export interface WirePayment extends Omit<PaymentNotificationData, "status"> {
  // The literal union keeps editor completion.
  status: PaymentStatus | (string & {});
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
export interface Payment extends Omit<WirePayment, "amount"> {
  amount: bigint;
  amountNumber: number;
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
  /**
   * Set when the error ended its subscription: the server refused it for a
   * reason that asking again cannot change. Any other error leaves the
   * subscription in place, retried or waiting for the next payment.
   */
  subscriptionEnded?: true;
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

/** How a payment reached the subscriber, beside the payment itself. */
export interface DeliveryInfo {
  /**
   * The payment was already stored when the server last accepted the
   * subscription (its offset is at most the `latestOffset` of that answer),
   * so it is being filled in, by the replay from `since` after a reconnect or
   * on the first subscribe, rather than arriving as it happens. Payments that
   * connection-state recovery resends before the re-subscribe is answered
   * cannot be told apart from live ones and count as live.
   */
  replayed: boolean;
}

export type PaymentHandler = (payment: Payment, delivery: DeliveryInfo) => void;

/**
 * A payment policy's lifecycle change as the client hands it over: the
 * `data` of a `policy` event, with `offset` set to its `policyOffset` (the
 * policy events' own gap-free sequence, apart from payment offsets).
 */
export interface PolicyChange extends Omit<PolicyStatusData, "status" | "previousStatus"> {
  offset: number;
  // A newer server may name a status this version does not know.
  status: PolicyStatus | (string & {});
  previousStatus?: PolicyStatus | (string & {});
}

export type PolicyHandler = (change: PolicyChange, delivery: DeliveryInfo) => void;

export interface SubscribeOptions {
  /** Replay every stored payment with an offset above this one, then continue live. */
  since?: number;
  /**
   * Also deliver the policy's lifecycle (created, paused, active, completed,
   * deleted): each change once, in policy-offset order, interleaved with the
   * payments as they happened.
   */
  onPolicy?: PolicyHandler;
  /**
   * With `since`: the last policy offset already processed (see
   * `lastPolicyOffset`). Without it, a replay hands over the changes stored
   * after payment `since`.
   */
  policySince?: number;
}
