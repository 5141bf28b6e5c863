import { isValidTrackingId, parseU64, PAYMENT_STATUSES, type PaymentInput, type PaymentStatus } from "../payment.js";
import { isBase58Of } from "./base58.js";

/** Every field a published payment may have; the schema in payment-request.ts is the one that explains a refusal. */
const FIELDS = new Set([
  "trackingId",
  "amount",
  "timestamp",
  "status",
  "signature",
  "eventIndex",
  "paymentPolicy",
  "gateway",
  "payer",
  "recipient",
  "tokenMint",
  "recordId",
  "slot",
]);

const U32_MAX = 0xffff_ffff;

function isSafeUnsigned(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Absent, or a base58 public key (32 bytes). */
function isOptionalPubkey(value: unknown): value is string | undefined {
  return value === undefined || (typeof value === "string" && isBase58Of(value, 32));
}

/**
 * The payment a publish item stands for when every field is valid, checked
 * directly; undefined for anything else, and the schema (payment-request.ts)
 * then gives the error. Running the schema per payment was a large part of a
 * publish's cost, while nearly every item a publisher sends is valid. A
 * property test checks that whatever this accepts, the schema accepts with
 * the same result.
 */
export function readValidPayment(item: unknown): PaymentInput | undefined {
  if (typeof item !== "object" || item === null || Array.isArray(item)) return undefined;
  const fields = item as Record<string, unknown>;
  // for-in rather than Object.keys: no array per item (it would also see inherited keys, which only makes it decline).
  for (const key in fields) if (!FIELDS.has(key)) return undefined;
  const { trackingId, timestamp, signature, paymentPolicy, gateway, payer, recipient, tokenMint, recordId, slot } = fields;
  // Defaults for absent fields only: a null is refused, as the schema refuses it.
  const status = fields.status === undefined ? "executed" : fields.status;
  const eventIndex = fields.eventIndex === undefined ? 0 : fields.eventIndex;
  const amount = parseU64(fields.amount);
  if (
    amount === undefined ||
    !isValidTrackingId(trackingId) ||
    !isSafeUnsigned(timestamp) ||
    !PAYMENT_STATUSES.includes(status as PaymentStatus) ||
    typeof signature !== "string" ||
    !isBase58Of(signature, 64) ||
    !isSafeUnsigned(eventIndex) ||
    !isOptionalPubkey(paymentPolicy) ||
    !isOptionalPubkey(gateway) ||
    !isOptionalPubkey(payer) ||
    !isOptionalPubkey(recipient) ||
    !isOptionalPubkey(tokenMint) ||
    (recordId !== undefined && !(isSafeUnsigned(recordId) && recordId <= U32_MAX)) ||
    (slot !== undefined && !isSafeUnsigned(slot))
  ) {
    return undefined;
  }
  const payment: PaymentInput = { trackingId, amount, timestamp, status: status as PaymentStatus, signature, eventIndex };
  if (paymentPolicy !== undefined) payment.paymentPolicy = paymentPolicy;
  if (gateway !== undefined) payment.gateway = gateway;
  if (payer !== undefined) payment.payer = payer;
  if (recipient !== undefined) payment.recipient = recipient;
  if (tokenMint !== undefined) payment.tokenMint = tokenMint;
  if (recordId !== undefined) payment.recordId = recordId;
  if (slot !== undefined) payment.slot = slot;
  return payment;
}
