import type { ClientError, Payment, WirePayment } from "./types.js";

const OPTIONAL_STRINGS = ["paymentPolicy", "gateway", "payer", "recipient", "tokenMint"] as const;
const OPTIONAL_NUMBERS = ["recordId", "slot"] as const;
const U64_MAX = 2n ** 64n - 1n;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Reads a `payment` event's envelope into a `Payment`, or returns why it
 * cannot. The server is trusted to follow the protocol, but a payment whose
 * identity, position or amount cannot be read must never reach a handler:
 * ordering and money both depend on those fields.
 */
export function readPaymentMessage(message: unknown): Payment | string {
  if (!isRecord(message) || !isRecord(message.data)) return "payment event without data";
  const data = message.data;
  const { trackingId, id, offset, signature, timestamp, status, amount, amountRaw, eventIndex } = data;
  if (typeof trackingId !== "string" || trackingId.length === 0) return "payment without a trackingId";
  if (typeof id !== "string" || id.length === 0) return "payment without an id";
  if (!isNonNegativeInteger(offset) || offset === 0) return `payment ${id} has no valid offset`;
  if (typeof amountRaw !== "string" || !/^\d{1,20}$/.test(amountRaw) || BigInt(amountRaw) > U64_MAX) {
    return `payment ${id} has no valid amountRaw`;
  }
  if (typeof signature !== "string") return `payment ${id} has no signature`;
  if (typeof timestamp !== "number") return `payment ${id} has no timestamp`;
  if (typeof status !== "string") return `payment ${id} has no status`;

  const payment: Payment = {
    id,
    offset,
    trackingId,
    amount: BigInt(amountRaw),
    amountRaw,
    amountNumber: typeof amount === "number" ? amount : Number(amountRaw),
    timestamp,
    status,
    signature,
    eventIndex: isNonNegativeInteger(eventIndex) ? eventIndex : 0,
  };
  for (const key of OPTIONAL_STRINGS) {
    const value = data[key];
    if (typeof value === "string") payment[key] = value;
  }
  for (const key of OPTIONAL_NUMBERS) {
    const value = data[key];
    if (isNonNegativeInteger(value)) payment[key] = value;
  }
  return payment;
}

/**
 * A payment back in the form the wire gave it, field for field and in the
 * server's order: for JSON output and logs, where the `bigint` amount cannot
 * go, and for code that shows wire data from other sources (the REST history)
 * beside it.
 */
export function toWirePayment(payment: Payment): WirePayment {
  const wire: WirePayment = {
    trackingId: payment.trackingId,
    amount: payment.amountNumber,
    amountRaw: payment.amountRaw,
    timestamp: payment.timestamp,
    status: payment.status,
    signature: payment.signature,
    id: payment.id,
    offset: payment.offset,
    eventIndex: payment.eventIndex,
  };
  for (const key of OPTIONAL_STRINGS) {
    const value = payment[key];
    if (value !== undefined) wire[key] = value;
  }
  for (const key of OPTIONAL_NUMBERS) {
    const value = payment[key];
    if (value !== undefined) wire[key] = value;
  }
  return wire;
}

/** Reads an `error` event's envelope; anything unreadable still becomes an error the user sees. */
export function readErrorMessage(message: unknown): ClientError {
  const data = isRecord(message) ? message.data : undefined;
  if (!isRecord(data)) return { code: "INVALID_MESSAGE", message: "error event without data" };
  const error: ClientError = {
    code: typeof data.code === "string" ? data.code : "INVALID_MESSAGE",
    message: typeof data.message === "string" ? data.message : "error event without a message",
  };
  if (typeof data.trackingId === "string") error.trackingId = data.trackingId;
  return error;
}
