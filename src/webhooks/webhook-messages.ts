import { createHash, randomUUID } from "node:crypto";
import { paymentNotificationData, policyStatusData } from "../protocol/envelopes.js";
import type { StoredPayment } from "../payment.js";
import type { StoredPolicyEvent } from "../policy-event.js";
import type { MessageBuilder, WebhookEndpoint, WebhookFilter, WebhookMessage } from "./webhook-store.js";

/** The `webhook-id` of an event for an endpoint: the same on every retry, replay and node. */
export function messageId(endpointId: string, eventKey: string): string {
  return `msg_${createHash("sha256").update(`${endpointId}\0${eventKey}`).digest("base64url").slice(0, 32)}`;
}

/** A policy event carries gateway and recipient only when the source knew them; without them a gateway or recipient filter does not select it. */
export function matchesFilter(filter: WebhookFilter, entry: StoredPayment | StoredPolicyEvent): boolean {
  if (filter.types !== undefined && !filter.types.includes(isPolicyEvent(entry) ? "policy" : "payment")) return false;
  if ("all" in filter) return true;
  if ("trackingIds" in filter) return filter.trackingIds.includes(entry.trackingId);
  if ("trackingIdPrefix" in filter) return entry.trackingId.startsWith(filter.trackingIdPrefix);
  if ("gateway" in filter) return entry.gateway === filter.gateway;
  return entry.recipient === filter.recipient;
}

function isPolicyEvent(entry: StoredPayment | StoredPolicyEvent): entry is StoredPolicyEvent {
  return "policyOffset" in entry;
}

/**
 * The Standard Webhooks body `{type, timestamp, data}`; `type` names the log
 * entry's kind and status, so other entries of a tracking ID's log (a
 * policy's lifecycle) travel through the same outbox as `policy.<status>`.
 */
export function messageBody(type: string, data: unknown, createdAt: number): string {
  return JSON.stringify({ type, timestamp: new Date(createdAt).toISOString(), data });
}

export function paymentMessage(endpointId: string, payment: StoredPayment, createdAt: number): WebhookMessage {
  return {
    endpointId,
    messageId: messageId(endpointId, `payment:${payment.id}`),
    type: `payment.${payment.status}`,
    trackingId: payment.trackingId,
    offset: payment.offset,
    body: messageBody(`payment.${payment.status}`, paymentNotificationData(payment), createdAt),
    createdAt,
  };
}

/**
 * `policy.<status>` with the socket `policy` event's data. Its id is keyed by
 * the policy event's id, which never equals a payment's; it is ordered after
 * payment `afterOffset` of its tracking ID, among its followers by policy offset.
 */
export function policyMessage(endpointId: string, event: StoredPolicyEvent, createdAt: number): WebhookMessage {
  const type = `policy.${event.status}`;
  return {
    endpointId,
    messageId: messageId(endpointId, `policy:${event.id}`),
    type,
    trackingId: event.trackingId,
    offset: event.afterOffset,
    policyOffset: event.policyOffset,
    body: messageBody(type, policyStatusData(event), createdAt),
    createdAt,
  };
}

/** Builds the messages of one endpoint from the logs, skipping what its filter does not select. */
export function endpointMessages(endpoint: Pick<WebhookEndpoint, "id" | "filter">, now: () => number): MessageBuilder {
  return (entry) => {
    if (!matchesFilter(endpoint.filter, entry)) return undefined;
    return isPolicyEvent(entry) ? policyMessage(endpoint.id, entry, now()) : paymentMessage(endpoint.id, entry, now());
  };
}

/** `POST /v1/webhooks/:id/test`: outside any tracking ID's order, a fresh id each time. */
export function testMessage(endpointId: string, createdAt: number): WebhookMessage {
  const type = "webhook.test";
  return {
    endpointId,
    messageId: messageId(endpointId, `test:${randomUUID()}`),
    type,
    trackingId: null,
    offset: null,
    body: messageBody(type, { endpointId }, createdAt),
    createdAt,
  };
}
