/** From one successful transaction's logs to the payments it carries. */
import type { PaymentInput } from "../../payment.js";
import { programDataOf } from "./log-attribution.js";
import { decodeBase64, decodePaymentRecordBytes, hasPaymentRecordDiscriminator } from "./payment-record.js";
import { toPaymentInput, type SkipReason } from "./to-payment-input.js";

export interface SkippedEvent {
  eventIndex: number | undefined;
  reason: SkipReason | "malformed";
  detail: string;
}

export interface LogPayments {
  payments: PaymentInput[];
  skipped: SkippedEvent[];
  truncated: boolean;
  anomalies: number;
}

export interface TransactionRef {
  programId: string;
  signature: string;
  slot: number;
}

/**
 * eventIndex counts every PaymentRecord the program emitted in the
 * transaction, skipped ones included, so a payment keeps its identity even if
 * the rules for skipping change later.
 */
export function paymentsFromLogs(logs: readonly unknown[], tx: TransactionRef): LogPayments {
  const attributed = programDataOf(logs, tx.programId);
  const payments: PaymentInput[] = [];
  const skipped: SkippedEvent[] = [];
  let eventIndex = 0;
  for (const text of attributed.data) {
    const bytes = decodeBase64(text);
    if (bytes === undefined) {
      skipped.push({ eventIndex: undefined, reason: "malformed", detail: "Program data is not valid base64" });
      continue;
    }
    // Other events of the program (if it ever emits any) are not payments.
    if (!hasPaymentRecordDiscriminator(bytes)) continue;
    const index = eventIndex++;
    const decoded = decodePaymentRecordBytes(bytes);
    if (!decoded.ok) {
      skipped.push({ eventIndex: index, reason: "malformed", detail: decoded.detail });
      continue;
    }
    const mapped = toPaymentInput(decoded.record, { signature: tx.signature, eventIndex: index, slot: tx.slot });
    if (mapped.ok) payments.push(mapped.payment);
    else skipped.push({ eventIndex: index, reason: mapped.reason, detail: mapped.detail });
  }
  return { payments, skipped, truncated: attributed.truncated, anomalies: attributed.anomalies };
}
