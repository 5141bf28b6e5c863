/** Encodes PaymentRecord events byte for byte as the program's emit! does (borsh, little-endian). */
import { randomBytes } from "node:crypto";
import bs58 from "bs58";
import { PAYMENT_RECORD_DISCRIMINATOR } from "../../src/tributary/payment-record.js";

export interface PaymentRecordInit {
  paymentPolicy?: string;
  gateway?: string;
  amount: bigint;
  timestamp?: bigint;
  /** Text for the memo, or raw bytes (padded with zeros to 64). */
  memo: string | Uint8Array;
  recordId?: number;
  /** Omit all three for the legacy six-field layout. */
  payer?: string;
  recipient?: string;
  tokenMint?: string;
  layout?: "legacy" | "current";
}

export function randomPubkey(): string {
  return bs58.encode(randomBytes(32));
}

function pubkeyBytes(key: string): Uint8Array {
  const bytes = bs58.decode(key);
  if (bytes.length !== 32) throw new Error(`not a 32-byte key: ${key}`);
  return bytes;
}

export function encodePaymentRecord(init: PaymentRecordInit): Uint8Array {
  const layout = init.layout ?? "current";
  const size = layout === "current" ? 252 : 156;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(PAYMENT_RECORD_DISCRIMINATOR, 0);
  let at = 8;
  const put = (bytes: Uint8Array): void => {
    out.set(bytes, at);
    at += bytes.length;
  };
  put(pubkeyBytes(init.paymentPolicy ?? randomPubkey()));
  put(pubkeyBytes(init.gateway ?? randomPubkey()));
  view.setBigUint64(at, init.amount, true);
  at += 8;
  view.setBigInt64(at, init.timestamp ?? 1_700_000_000n, true);
  at += 8;
  const memo = typeof init.memo === "string" ? new TextEncoder().encode(init.memo) : init.memo;
  if (memo.length > 64) throw new Error("memo longer than 64 bytes");
  out.set(memo, at);
  at += 64;
  view.setUint32(at, init.recordId ?? 1, true);
  at += 4;
  if (layout === "current") {
    put(pubkeyBytes(init.payer ?? randomPubkey()));
    put(pubkeyBytes(init.recipient ?? randomPubkey()));
    put(pubkeyBytes(init.tokenMint ?? randomPubkey()));
  }
  return out;
}

export function encodePaymentRecordBase64(init: PaymentRecordInit): string {
  return Buffer.from(encodePaymentRecord(init)).toString("base64");
}
