/** Turns a decoded PaymentRecord into the service's PaymentInput. */
import type { PaymentInput } from "../payment.js";
import { memoToTrackingId } from "./memo.js";
import type { PaymentRecord } from "./payment-record.js";

export interface ChainPosition {
  signature: string;
  eventIndex: number;
  slot: number;
}

export type SkipReason = "empty_memo" | "invalid_tracking_id" | "timestamp_out_of_range";

export type ToPaymentResult = { ok: true; payment: PaymentInput } | { ok: false; reason: SkipReason; detail: string };

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export function toPaymentInput(record: PaymentRecord, at: ChainPosition): ToPaymentResult {
  const memo = memoToTrackingId(record.memo);
  if (!memo.ok) return memo;
  if (record.timestamp < MIN_SAFE || record.timestamp > MAX_SAFE) {
    return { ok: false, reason: "timestamp_out_of_range", detail: `timestamp ${record.timestamp} is not a safe integer` };
  }
  return {
    ok: true,
    payment: {
      trackingId: memo.trackingId,
      amount: record.amount,
      timestamp: Number(record.timestamp),
      status: "executed",
      signature: at.signature,
      eventIndex: at.eventIndex,
      // The zero key of a one-time transfer is kept as the chain wrote it, so
      // every source describes the same event with the same fields.
      paymentPolicy: record.paymentPolicy,
      gateway: record.gateway,
      payer: record.payer,
      recipient: record.recipient,
      tokenMint: record.tokenMint,
      recordId: record.recordId,
      slot: at.slot,
    },
  };
}
