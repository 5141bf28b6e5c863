import { createHash, randomUUID } from "node:crypto";
import { paymentNotificationData } from "../gateway/envelopes.js";
import type { StoredPayment } from "../payment.js";
import type { MessageBuilder, WebhookEndpoint, WebhookFilter, WebhookMessage } from "./webhook-store.js";

/** The `webhook-id` of an event for an endpoint: the same on every retry, replay and node. */
export function messageId(endpointId: string, eventKey: string): string {
  return `msg_${createHash("sha256").update(`${endpointId}\0${eventKey}`).digest("base64url").slice(0, 32)}`;
}

export function matchesFilter(filter: WebhookFilter, payment: StoredPayment): boolean {
  if ("all" in filter) return true;
  if ("trackingIds" in filter) return filter.trackingIds.includes(payment.trackingId);
  if ("trackingIdPrefix" in filter) return payment.trackingId.startsWith(filter.trackingIdPrefix);
  if ("gateway" in filter) return payment.gateway === filter.gateway;
  return payment.recipient === filter.recipient;
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

/** Builds the messages of one endpoint from the log, skipping what its filter does not select. */
export function endpointMessages(endpoint: Pick<WebhookEndpoint, "id" | "filter">, now: () => number): MessageBuilder {
  return (payment) => (matchesFilter(endpoint.filter, payment) ? paymentMessage(endpoint.id, payment, now()) : undefined);
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
