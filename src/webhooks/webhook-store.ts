import type { StoredPayment } from "../payment.js";
import type { StoredPolicyEvent } from "../policy-event.js";

/** The kinds of log entries a webhook can carry: `payment.<status>` and `policy.<status>`. */
export type WebhookEventKind = "payment" | "policy";

/**
 * Which stored payments and policy events an endpoint receives: exactly one
 * selector is set; `types` narrows it to some kinds (both when absent).
 */
export type WebhookFilter = (
  | { all: true }
  | { trackingIds: string[] }
  | { trackingIdPrefix: string }
  | { gateway: string }
  | { recipient: string }
) & { types?: WebhookEventKind[] | undefined };

/** A signing secret; a rotated-out one keeps signing until `expiresAt` (ms since the epoch). */
export interface SigningSecret {
  secret: string;
  expiresAt?: number;
}

export interface WebhookEndpoint {
  id: string;
  /** Identifier (a digest) of the API key that created it; never the key. */
  owner: string;
  url: string;
  description?: string;
  filter: WebhookFilter;
  /** Newest first. */
  secrets: SigningSecret[];
  enabled: boolean;
  disabledReason?: string;
  disabledAt?: number;
  createdAt: number;
  updatedAt: number;
  /** Start of the current run of failures; cleared by a success. */
  failingSince?: number;
  lastSuccessAt?: number;
  lastFailureAt?: number;
  lastError?: string;
}

export type NewWebhookEndpoint = Omit<WebhookEndpoint, "updatedAt" | "enabled" | "disabledReason" | "disabledAt">;

export interface WebhookEndpointPatch {
  url?: string;
  description?: string;
  filter?: WebhookFilter;
  /** true re-enables a disabled endpoint and forgets its failures; false disables it by hand. */
  enabled?: boolean;
  secrets?: SigningSecret[];
}

/**
 * One message for one endpoint: the body is frozen when the message is made,
 * so every retry sends the same bytes under the same `webhook-id`.
 */
export interface WebhookMessage {
  endpointId: string;
  /** The `webhook-id`: stable per endpoint and event. */
  messageId: string;
  /** `payment.executed`, `policy.paused`, `webhook.test`, … */
  type: string;
  /**
   * Messages of one tracking ID are delivered in the order (offset,
   * policyOffset): a payment is (its offset, 0), a policy event (its
   * afterOffset, its policyOffset), so it goes after the payment it follows
   * and before the next. Null for messages outside any log.
   */
  trackingId: string | null;
  offset: number | null;
  /** A policy event's place among those following one payment; absent (0) for payments. */
  policyOffset?: number;
  body: string;
  createdAt: number;
}

export type DeliveryState = "pending" | "delivered" | "failed";

export interface WebhookDelivery extends WebhookMessage {
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  leaseOwner?: string;
  leaseExpiresAt?: number;
  lastStatus?: number;
  lastError?: string;
  finishedAt?: number;
}

export interface WebhookAttempt {
  endpointId: string;
  messageId: string;
  attempt: number;
  attemptedAt: number;
  /** The receiver's HTTP status; absent when no answer came (refused, timed out, connection error). */
  statusCode?: number;
  latencyMs: number;
  error?: string;
  /** When the next try is due; absent when the delivery succeeded or was given up. */
  nextRetryAt?: number;
  node: string;
}

/** What an attempt led to, applied with the attempt's record in one transaction. */
export type AttemptOutcome =
  | { kind: "delivered" }
  | { kind: "retry"; nextAttemptAt: number }
  | { kind: "given-up" }
  /** The receiver asked to stop (410) or failed for too long: the message waits, the endpoint is disabled. */
  | { kind: "disable-endpoint"; reason: string; nextAttemptAt: number };

export interface EndpointBacklog {
  pending: number;
  /** createdAt of the oldest pending message. */
  oldestPendingAt?: number;
}

export interface WebhookTotals {
  endpoints: number;
  disabled: number;
  pending: number;
  oldestPendingAt?: number;
}

/** Turns a stored payment or policy event into a message for an endpoint, or undefined when its filter does not select it. */
export type MessageBuilder = (entry: StoredPayment | StoredPolicyEvent) => WebhookMessage | undefined;

/**
 * Durable webhook state: endpoints, their cursor into the payment log, the
 * outbox of messages and the attempt log (see docs/decisions/webhooks.md).
 * The contract is in test/support/webhook-store-contract.ts.
 *
 * - `materialise` reads the payments and the policy events stored after the
 *   endpoint's two cursors, in commit order, and inserts their messages and
 *   moves the cursors in one transaction, so a crash either keeps all or
 *   nothing; neither kind enters ahead of an earlier one of the other kind
 *   for the same tracking ID (src/webhooks/log-merge.ts).
 * - `claim` leases due messages at the head of their (endpoint, tracking ID)
 *   queue: one node at a time attempts a message, and a tracking ID's next
 *   message waits while an earlier one is pending.
 * - `recordAttempt` applies an outcome only while the caller still holds the
 *   lease; the attempt itself is always logged.
 */
export interface WebhookStore {
  createEndpoint(endpoint: NewWebhookEndpoint): Promise<WebhookEndpoint>;
  getEndpoint(id: string): Promise<WebhookEndpoint | undefined>;
  listEndpoints(owner: string): Promise<WebhookEndpoint[]>;
  countEndpoints(owner: string): Promise<number>;
  /** Enabled endpoints of every owner, for the dispatcher. */
  listEnabledEndpoints(): Promise<WebhookEndpoint[]>;
  updateEndpoint(id: string, patch: WebhookEndpointPatch, now: number): Promise<WebhookEndpoint | undefined>;
  deleteEndpoint(id: string): Promise<boolean>;
  /**
   * Returns how many log entries the cursors passed (selected or not); 0 when the endpoint is caught up,
   * and at least `limit` when a page was full, so the caller knows to go on.
   */
  materialise(endpointId: string, build: MessageBuilder, limit: number): Promise<number>;
  /** Adds messages, or makes existing ones (same endpoint and id) pending again from their first attempt. */
  enqueue(messages: readonly WebhookMessage[], now: number): Promise<void>;
  /**
   * Messages for the payments and policy events received at or after `from`
   * and already passed by the endpoint's cursors, made pending again (replay
   * by time); at most `limit`.
   */
  replayFrom(endpointId: string, from: number, build: MessageBuilder, limit: number, now: number): Promise<number>;
  claim(endpointId: string, node: string, now: number, leaseMs: number, limit: number): Promise<WebhookDelivery[]>;
  /** Returns false when the lease had passed to another node; the attempt is logged either way. */
  recordAttempt(attempt: WebhookAttempt, outcome: AttemptOutcome): Promise<boolean>;
  backlog(endpointId: string): Promise<EndpointBacklog>;
  listAttempts(endpointId: string, limit: number): Promise<WebhookAttempt[]>;
  getDelivery(endpointId: string, messageId: string): Promise<WebhookDelivery | undefined>;
  totals(): Promise<WebhookTotals>;
  /** Forgets delivered and given-up messages finished before `before`, and attempts made before it; returns rows deleted. */
  pruneFinished(before: number): Promise<number>;
  close(): Promise<void>;
}
