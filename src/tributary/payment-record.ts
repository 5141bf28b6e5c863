/**
 * The Anchor event `PaymentRecord` emitted by the Tributary program, and its
 * borsh decoding from a `Program data:` payload.
 *
 * Two layouts exist on chain: the first deployments emitted six fields
 * (156 bytes with the discriminator), the current one adds payer, recipient
 * and token mint (252 bytes).
 */
import { createHash } from "node:crypto";
import bs58 from "bs58";

export const PAYMENT_RECORD_DISCRIMINATOR: Uint8Array = createHash("sha256")
  .update("event:PaymentRecord")
  .digest()
  .subarray(0, 8);

const PUBKEY_BYTES = 32;
const MEMO_BYTES = 64;
const DISCRIMINATOR_BYTES = 8;
/** Discriminator + policy + gateway + amount + timestamp + memo + record id. */
export const LEGACY_RECORD_BYTES = DISCRIMINATOR_BYTES + 2 * PUBKEY_BYTES + 8 + 8 + MEMO_BYTES + 4;
/** The legacy layout plus payer, recipient and token mint. */
export const CURRENT_RECORD_BYTES = LEGACY_RECORD_BYTES + 3 * PUBKEY_BYTES;

export type PaymentRecordLayout = "legacy" | "current";

export interface PaymentRecord {
  layout: PaymentRecordLayout;
  paymentPolicy: string;
  gateway: string;
  amount: bigint;
  /** Chain time in unix seconds, an i64 as the program wrote it. */
  timestamp: bigint;
  memo: Uint8Array;
  recordId: number;
  payer?: string | undefined;
  recipient?: string | undefined;
  tokenMint?: string | undefined;
}

export type DecodeResult =
  | { ok: true; record: PaymentRecord }
  | { ok: false; reason: "not-payment-record" | "malformed"; detail: string };

// Buffer.from(…, "base64") silently skips characters outside the alphabet, so
// a garbled line would decode to plausible-looking bytes without this check.
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 decoding; undefined when the text is not canonical base64. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!CANONICAL_BASE64.test(text)) return undefined;
  return Buffer.from(text, "base64");
}

export function hasPaymentRecordDiscriminator(bytes: Uint8Array): boolean {
  if (bytes.length < DISCRIMINATOR_BYTES) return false;
  for (let i = 0; i < DISCRIMINATOR_BYTES; i++) {
    if (bytes[i] !== PAYMENT_RECORD_DISCRIMINATOR[i]) return false;
  }
  return true;
}

/**
 * Decodes the raw bytes of one event (discriminator included).
 *
 * Longer payloads than the current layout are decoded as the current layout:
 * borsh appends new fields at the end, so a later program version that adds
 * fields keeps delivering payments instead of having every event rejected.
 */
export function decodePaymentRecordBytes(bytes: Uint8Array): DecodeResult {
  if (!hasPaymentRecordDiscriminator(bytes)) {
    return { ok: false, reason: "not-payment-record", detail: "discriminator is not PaymentRecord" };
  }
  let layout: PaymentRecordLayout;
  if (bytes.length === LEGACY_RECORD_BYTES) layout = "legacy";
  else if (bytes.length >= CURRENT_RECORD_BYTES) layout = "current";
  else {
    return {
      ok: false,
      reason: "malformed",
      detail: `PaymentRecord has ${bytes.length} bytes, expected ${LEGACY_RECORD_BYTES} or ${CURRENT_RECORD_BYTES}`,
    };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = DISCRIMINATOR_BYTES;
  const pubkey = (): string => {
    const key = bs58.encode(bytes.subarray(at, at + PUBKEY_BYTES));
    at += PUBKEY_BYTES;
    return key;
  };
  const paymentPolicy = pubkey();
  const gateway = pubkey();
  const amount = view.getBigUint64(at, true);
  at += 8;
  const timestamp = view.getBigInt64(at, true);
  at += 8;
  // A copy, so the record does not pin the whole log payload in memory.
  const memo = bytes.slice(at, at + MEMO_BYTES);
  at += MEMO_BYTES;
  const recordId = view.getUint32(at, true);
  at += 4;
  const record: PaymentRecord = { layout, paymentPolicy, gateway, amount, timestamp, memo, recordId };
  if (layout === "current") {
    record.payer = pubkey();
    record.recipient = pubkey();
    record.tokenMint = pubkey();
  }
  return { ok: true, record };
}

/** Decodes the base64 text of a `Program data:` line. */
export function decodePaymentRecord(base64: string): DecodeResult {
  const bytes = decodeBase64(base64);
  if (bytes === undefined) return { ok: false, reason: "malformed", detail: "payload is not valid base64" };
  return decodePaymentRecordBytes(bytes);
}

/** A one-time `transfer` has no policy: the program writes the zero key and record id 0. */
export function isOneTimeTransfer(record: PaymentRecord): boolean {
  return record.paymentPolicy === ZERO_PUBKEY && record.recordId === 0;
}

export const ZERO_PUBKEY = bs58.encode(new Uint8Array(PUBKEY_BYTES));
