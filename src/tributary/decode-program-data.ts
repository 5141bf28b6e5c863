/**
 * The `tributary-ws decode <base64>` command's core: a PaymentRecord payload
 * as a JSON-safe object, for operators who copy a `Program data:` line from
 * an explorer.
 */
import { memoToTrackingId } from "./memo.js";
import { decodePaymentRecord, isOneTimeTransfer } from "./payment-record.js";

export interface DecodedProgramData {
  event: "PaymentRecord";
  layout: "legacy" | "current";
  paymentPolicy: string;
  gateway: string;
  /** u64 as a decimal string: JSON numbers cannot hold it exactly. */
  amount: string;
  /** i64 unix seconds as a decimal string, for the same reason. */
  timestamp: string;
  /** ISO 8601 form of `timestamp`, when a Date can represent it. */
  time: string | null;
  memoHex: string;
  /** Null when the memo is not a valid tracking ID; `trackingIdProblem` says why. */
  trackingId: string | null;
  trackingIdProblem: string | null;
  recordId: number;
  oneTimeTransfer: boolean;
  payer: string | null;
  recipient: string | null;
  tokenMint: string | null;
}

/** Throws an Error naming the problem when the text is not a PaymentRecord. */
export function decodeProgramData(base64: string): DecodedProgramData {
  const text = base64.trim().replace(/^Program data: /, "");
  const decoded = decodePaymentRecord(text);
  if (!decoded.ok) throw new Error(`not a PaymentRecord: ${decoded.detail}`);
  const record = decoded.record;
  const memo = memoToTrackingId(record.memo);
  const ms = Number(record.timestamp) * 1000;
  const date = new Date(ms);
  return {
    event: "PaymentRecord",
    layout: record.layout,
    paymentPolicy: record.paymentPolicy,
    gateway: record.gateway,
    amount: record.amount.toString(),
    timestamp: record.timestamp.toString(),
    time: Number.isNaN(date.getTime()) ? null : date.toISOString(),
    memoHex: Buffer.from(record.memo).toString("hex"),
    trackingId: memo.ok ? memo.trackingId : null,
    trackingIdProblem: memo.ok ? null : memo.detail,
    recordId: record.recordId,
    oneTimeTransfer: isOneTimeTransfer(record),
    payer: record.payer ?? null,
    recipient: record.recipient ?? null,
    tokenMint: record.tokenMint ?? null,
  };
}
