import { ERRORS, type ErrorCode } from "../errors.js";
import type { PaymentStatus, StoredPayment } from "../payment.js";

/**
 * The server-to-client envelopes of the public API. `type`, `data` and
 * `timestamp` keep exactly the spec's shape and texts; anything we add sits
 * beside them, never in place of them.
 */
export interface AckEnvelope {
  type: "ack";
  data: string;
  timestamp: number;
}

export interface ErrorEnvelope {
  type: "error";
  data: { code: ErrorCode; message: string };
  timestamp: number;
}

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

export interface PaymentEnvelope {
  type: "payment_notification";
  data: PaymentNotificationData;
  /** Server time, ms. */
  timestamp: number;
}

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
