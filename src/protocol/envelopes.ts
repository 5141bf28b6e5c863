import { ERRORS, type ErrorCode } from "../errors.js";
import type { StoredPayment } from "../payment.js";
import type { StoredPolicyEvent } from "../policy-event.js";
import type {
  AckEnvelope,
  ErrorEnvelope,
  PaymentEnvelope,
  PaymentNotificationData,
  PolicyEnvelope,
  PolicyStatusData,
} from "./wire.js";

// Existing server modules name these types here; their one definition is the wire module.
export type { AckEnvelope, ErrorEnvelope, PaymentEnvelope, PaymentNotificationData } from "./wire.js";

export function ackEnvelope(data: string, now: number = Date.now()): AckEnvelope {
  return { type: "ack", data, timestamp: now };
}

export function errorEnvelope(code: ErrorCode, message: string = ERRORS[code].message, now = Date.now()): ErrorEnvelope {
  return { type: "error", data: { code, message }, timestamp: now };
}

export function paymentEnvelope(payment: StoredPayment, now: number = Date.now()): PaymentEnvelope {
  return { type: "payment_notification", data: paymentNotificationData(payment), timestamp: now };
}

/** The wire form of a stored payment, shared by the socket events and the REST history. */
export function paymentNotificationData(payment: StoredPayment): PaymentNotificationData {
  const data: PaymentNotificationData = {
    trackingId: payment.trackingId,
    // The one place a u64 becomes a JS number: the spec's wire field demands it.
    amount: Number(payment.amount),
    amountRaw: payment.amount.toString(),
    timestamp: payment.timestamp,
    status: payment.status,
    signature: payment.signature,
    id: payment.id,
    offset: payment.offset,
    eventIndex: payment.eventIndex,
  };
  if (payment.paymentPolicy !== undefined) data.paymentPolicy = payment.paymentPolicy;
  if (payment.gateway !== undefined) data.gateway = payment.gateway;
  if (payment.payer !== undefined) data.payer = payment.payer;
  if (payment.recipient !== undefined) data.recipient = payment.recipient;
  if (payment.tokenMint !== undefined) data.tokenMint = payment.tokenMint;
  if (payment.recordId !== undefined) data.recordId = payment.recordId;
  if (payment.slot !== undefined) data.slot = payment.slot;
  return data;
}

export function policyEnvelope(event: StoredPolicyEvent, now: number = Date.now()): PolicyEnvelope {
  return { type: "policy_status", data: policyStatusData(event), timestamp: now };
}

/** The wire form of a stored policy event, shared by the `policy` event and the REST history. */
export function policyStatusData(event: StoredPolicyEvent): PolicyStatusData {
  const data: PolicyStatusData = {
    trackingId: event.trackingId,
    paymentPolicy: event.paymentPolicy,
    status: event.status,
    signature: event.signature,
    timestamp: event.timestamp,
    id: event.id,
    policyOffset: event.policyOffset,
    afterOffset: event.afterOffset,
    eventIndex: event.eventIndex,
  };
  if (event.previousStatus !== undefined) data.previousStatus = event.previousStatus;
  if (event.gateway !== undefined) data.gateway = event.gateway;
  if (event.recipient !== undefined) data.recipient = event.recipient;
  if (event.slot !== undefined) data.slot = event.slot;
  return data;
}
