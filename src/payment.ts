/**
 * The one normalised payment type that every source hands to ingest, and the
 * rules that make a value a valid tracking ID or amount.
 *
 * Amounts are u64 token base units and can exceed Number.MAX_SAFE_INTEGER, so
 * inside the service they are always `bigint`; only the wire envelope turns
 * them into a JSON number (as the public API shows), with the exact decimal
 * string travelling beside it as `amountRaw`.
 */

import type { PaymentStatus } from "./protocol/wire.js";

export type { PaymentStatus } from "./protocol/wire.js";

// Listed from a record keyed by the wire's statuses, so that a status the wire
// gains or loses cannot go unnoticed here.
const STATUS_SET: Record<PaymentStatus, true> = { executed: true, failed: true, pending: true };
export const PAYMENT_STATUSES = Object.keys(STATUS_SET) as [PaymentStatus, ...PaymentStatus[]];

export const U64_MAX = (1n << 64n) - 1n;

/** The on-chain memo is a 64-byte field, so a tracking ID can never be longer. */
export const TRACKING_ID_MAX_BYTES = 64;

/** A validated payment as it enters the store. Its identity is `(signature, eventIndex)`. */
export interface PaymentInput {
  trackingId: string;
  amount: bigint;
  /** Chain time, unix seconds. */
  timestamp: number;
  status: PaymentStatus;
  /** Base58 transaction signature. */
  signature: string;
  /** Position of the event among the transaction's PaymentRecord events. */
  eventIndex: number;
  paymentPolicy?: string | undefined;
  gateway?: string | undefined;
  payer?: string | undefined;
  recipient?: string | undefined;
  tokenMint?: string | undefined;
  recordId?: number | undefined;
  slot?: number | undefined;
}

/** A payment after the store committed it. */
export interface StoredPayment extends PaymentInput {
  /** Stable id, derived from the identity so every node and store agrees on it. */
  id: string;
  /** Gap-free position in its tracking ID's log: 1, 2, 3, … */
  offset: number;
  /** Server time (ms) when the store committed it. */
  receivedAt: number;
}

export function paymentId(signature: string, eventIndex: number): string {
  return `${signature}:${eventIndex}`;
}

/**
 * The stored form of a payment the store has just committed. Fields are named
 * one by one rather than spread: a spread copy is about three times the
 * memory, and a committed group's payments live on through their emits.
 */
export function storedPayment(input: PaymentInput, offset: number, receivedAt: number): StoredPayment {
  return {
    id: paymentId(input.signature, input.eventIndex),
    trackingId: input.trackingId,
    offset,
    signature: input.signature,
    eventIndex: input.eventIndex,
    amount: input.amount,
    timestamp: input.timestamp,
    status: input.status,
    paymentPolicy: input.paymentPolicy,
    gateway: input.gateway,
    payer: input.payer,
    recipient: input.recipient,
    tokenMint: input.tokenMint,
    recordId: input.recordId,
    slot: input.slot,
    receivedAt,
  };
}

// C0 and C1 control characters, DEL included. A memo is printable text; a
// control character is either padding that was not stripped or an attack on
// whatever logs or renders the ID.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Characters that change how text around them is shown without being seen
 * themselves: bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E,
 * U+2066–U+2069), which can make `order-1` read as another ID, and invisible
 * ones (U+00AD soft hyphen, U+034F, U+115F, U+1160, U+180E, U+200B–U+200D,
 * U+2028, U+2029, U+2060–U+2065, U+206A–U+206F, U+3164, U+FEFF, U+FFA0,
 * U+FFF9–U+FFFB, U+1D173–U+1D17A, tags U+E0000–U+E007F), which make two IDs
 * that look the same differ. A tracking ID is shown to people; it has none.
 */
const INVISIBLE_OR_BIDI_CHARACTERS =
  /\u034f|[\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\u{1d173}-\u{1d17a}\u{e0000}-\u{e007f}]/u;

export function isValidTrackingId(value: unknown): value is string {
  if (typeof value !== "string" || value.length === 0) return false;
  if (CONTROL_CHARACTERS.test(value)) return false;
  if (INVISIBLE_OR_BIDI_CHARACTERS.test(value)) return false;
  // Lone surrogates cannot be encoded as UTF-8, so they can never match a memo.
  if (!value.isWellFormed()) return false;
  return Buffer.byteLength(value, "utf8") <= TRACKING_ID_MAX_BYTES;
}

const DECIMAL_U64 = /^(0|[1-9][0-9]{0,19})$/;

/**
 * Parses a u64 given as a canonical decimal string or a safe-integer number.
 * Returns undefined for anything else (sign, exponent, fraction, leading
 * zeros, out of range), so callers decide how to report it.
 */
export function parseU64(value: unknown): bigint | undefined {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : undefined;
  }
  if (typeof value !== "string" || !DECIMAL_U64.test(value)) return undefined;
  const parsed = BigInt(value);
  return parsed <= U64_MAX ? parsed : undefined;
}
