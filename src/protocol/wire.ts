/**
 * The public API's wire types, in one place for both sides: the server
 * (src/gateway, src/http) builds these messages and the client library
 * (src/client) and the live payments page read them.
 *
 * Types only. The client bundle imports this module, so it must never gain
 * runtime code or an import of a server module; the values that belong with
 * these types (the error catalogue, the status list) live on the server and
 * are checked against them there.
 */

export type PaymentStatus = "executed" | "failed" | "pending";

/** A payment policy's lifecycle state as the `policy` event names it. */
export type PolicyStatus = "created" | "active" | "paused" | "completed" | "deleted";

/** Every error code a client can see, on the socket or over HTTP; src/errors.ts has an entry for each. */
export type ErrorCode =
  | "INVALID_TRACKING_ID"
  | "CONNECTION_ERROR"
  | "INVALID_SINCE"
  | "REPLAY_TRUNCATED"
  | "SUBSCRIPTION_LIMIT"
  | "UNAUTHORIZED"
  | "PUBLISHING_DISABLED"
  | "INVALID_PAYMENT"
  | "INVALID_BODY"
  | "INVALID_QUERY"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "IDENTITY_CONFLICT"
  | "STORE_UNAVAILABLE"
  | "SHUTTING_DOWN"
  | "RATE_LIMITED"
  | "CONNECTION_LIMIT"
  | "MALFORMED_REQUEST"
  | "REQUEST_TIMEOUT"
  | "NOT_FOUND"
  | "WEBHOOK_URL_REFUSED"
  | "WEBHOOK_LIMIT"
  | "INTERNAL";

/** The codes the socket sends, in `error` events and refused subscribe answers. */
export type SocketErrorCode = Extract<
  ErrorCode,
  | "INVALID_TRACKING_ID"
  | "INVALID_SINCE"
  | "SUBSCRIPTION_LIMIT"
  | "STORE_UNAVAILABLE"
  | "CONNECTION_ERROR"
  | "REPLAY_TRUNCATED"
  | "UNAUTHORIZED"
  | "RATE_LIMITED"
>;

/**
 * A payment as it travels: the `data` of a `payment` event and an item of
 * `GET /v1/payments`.
 */
export interface PaymentNotificationData {
  trackingId: string;
  /** JSON number as the spec shows; exact only up to 2^53. Use `amountRaw` for the exact value. */
  amount: number;
  /** The exact u64 amount, as a decimal string. */
  amountRaw: string;
  /** Chain time, unix seconds. */
  timestamp: number;
  status: PaymentStatus;
  signature: string;
  /** Stable identity, `<signature>:<eventIndex>`. */
  id: string;
  /** Position in the tracking ID's log: 1, 2, 3 … without gaps. */
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
 * A payment policy's lifecycle change: the `data` of a `policy` event and a
 * `kind: "policy"` item of the REST history.
 */
export interface PolicyStatusData {
  trackingId: string;
  /** Base58 address of the PaymentPolicy account. */
  paymentPolicy: string;
  status: PolicyStatus;
  previousStatus?: PolicyStatus;
  signature: string;
  /** Chain time, unix seconds. */
  timestamp: number;
  gateway?: string;
  recipient?: string;
  /** Stable identity, `<signature>:policy:<eventIndex>`. */
  id: string;
  /** Position in the tracking ID's policy log: 1, 2, 3 … without gaps (apart from payment offsets). */
  policyOffset: number;
  /** The payment offset this event follows: it happened after payment `afterOffset` and before the next one. */
  afterOffset: number;
  eventIndex: number;
  slot?: number;
}

/*
 * The server-to-client envelopes. `type`, `data` and `timestamp` keep exactly
 * the spec's shape and texts; anything added sits beside them, never in place
 * of them.
 */

export interface AckEnvelope {
  type: "ack";
  data: string;
  timestamp: number;
  /** On the ack of a subscribe: the tracking ID's newest offset when the server took the subscription. */
  latestOffset?: number;
  /** On the ack of a subscribe: the tracking ID's newest policy offset then. */
  latestPolicyOffset?: number;
}

export interface ErrorEnvelope {
  type: "error";
  data: { code: ErrorCode; message: string };
  timestamp: number;
}

/** The error for a cut replay names the replay, so a client with several can tell which one. */
export type ReplayTruncatedEnvelope = ErrorEnvelope & { data: { trackingId: string; firstAvailableOffset: number } };

export interface PaymentEnvelope {
  type: "payment_notification";
  data: PaymentNotificationData;
  /** Server time, ms. */
  timestamp: number;
}

export interface PolicyEnvelope {
  type: "policy_status";
  data: PolicyStatusData;
  /** Server time, ms. */
  timestamp: number;
}

/** What the client sends with `subscribe`; `unsubscribe` takes only the tracking ID. */
export interface SubscribeRequest {
  trackingId: string;
  /** Replay the stored payments after this offset first. */
  since?: number;
  /**
   * With `since`: replay the policy events after this policy offset. Without
   * it, a replay sends the policy events stored after payment `since`.
   */
  policySince?: number;
}

/** What a client's Socket.IO acknowledgement callback receives for subscribe and unsubscribe. */
export type SubscriptionResponse =
  | { ok: true; trackingId: string; subscribed: boolean; latestOffset?: number; latestPolicyOffset?: number }
  | { ok: false; error: { code: ErrorCode; message: string } };

/** The events the server emits, as a Socket.IO event map. */
export interface ServerToClientEvents {
  payment: (message: PaymentEnvelope) => void;
  policy: (message: PolicyEnvelope) => void;
  ack: (message: AckEnvelope) => void;
  error: (message: ErrorEnvelope | ReplayTruncatedEnvelope) => void;
}
