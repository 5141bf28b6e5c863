import type { PolicyChange } from "./types.js";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Reads a `policy` event's envelope into a `PolicyChange`, or returns why it
 * cannot: one without identity or position could never be delivered once.
 * The `offset` it gets is the policy offset, so the same tracker as for
 * payments keeps them in order and once each.
 */
export function readPolicyMessage(message: unknown): PolicyChange | string {
  if (!isRecord(message) || !isRecord(message.data)) return "policy event without data";
  const data = message.data;
  const { trackingId, id, policyOffset, afterOffset, paymentPolicy, status, signature, timestamp, eventIndex } = data;
  if (typeof trackingId !== "string" || trackingId.length === 0) return "policy event without a trackingId";
  if (typeof id !== "string" || id.length === 0) return "policy event without an id";
  if (!isNonNegativeInteger(policyOffset) || policyOffset === 0) return `policy event ${id} has no valid policyOffset`;
  if (typeof paymentPolicy !== "string") return `policy event ${id} has no paymentPolicy`;
  if (typeof status !== "string") return `policy event ${id} has no status`;
  if (typeof signature !== "string") return `policy event ${id} has no signature`;
  if (typeof timestamp !== "number") return `policy event ${id} has no timestamp`;
  const change: PolicyChange = {
    id,
    offset: policyOffset,
    policyOffset,
    afterOffset: isNonNegativeInteger(afterOffset) ? afterOffset : 0,
    trackingId,
    paymentPolicy,
    status,
    signature,
    timestamp,
    eventIndex: isNonNegativeInteger(eventIndex) ? eventIndex : 0,
  };
  if (typeof data.previousStatus === "string") change.previousStatus = data.previousStatus;
  if (typeof data.gateway === "string") change.gateway = data.gateway;
  if (typeof data.recipient === "string") change.recipient = data.recipient;
  if (isNonNegativeInteger(data.slot)) change.slot = data.slot;
  return change;
}
