/** From one successful transaction's logs to the payments it carries. */
import type { PaymentInput } from "../../payment.js";
import { programDataOf } from "./log-attribution.js";
import { decodeBase64, decodePaymentRecordBytes, hasPaymentRecordDiscriminator } from "../../tributary/payment-record.js";
import { decodePolicyEventBytes, policyEventNameOf, type PolicyEvent, type PolicyEventName } from "../../tributary/policy-events.js";
import { toPaymentInput, type SkipReason } from "../../tributary/to-payment-input.js";

export interface SkippedEvent {
  eventIndex: number | undefined;
  reason: SkipReason | "malformed";
  detail: string;
}

/** A policy lifecycle event of the transaction, with its position among the transaction's policy events. */
export interface LoggedPolicyEvent {
  event: PolicyEvent;
  eventIndex: number;
}

/** What the transaction carried, in log order: payments and policy events interleaved as they happened. */
export type ChainItem = { kind: "payment"; payment: PaymentInput } | { kind: "policy"; policy: LoggedPolicyEvent };

export interface SkippedPolicyEvent {
  name: PolicyEventName;
  eventIndex: number;
  detail: string;
}

export interface LogPayments {
  payments: PaymentInput[];
  items: ChainItem[];
  /** Policy events whose bytes fit no known layout (an older or newer program), counted and left out. */
  skippedPolicyEvents: SkippedPolicyEvent[];
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
  const items: ChainItem[] = [];
  const skipped: SkippedEvent[] = [];
  const skippedPolicyEvents: SkippedPolicyEvent[] = [];
  let eventIndex = 0;
  // Policy events are counted apart, so payment identities stay what they always were.
  let policyIndex = 0;
  for (const text of attributed.data) {
    const bytes = decodeBase64(text);
    if (bytes === undefined) {
      skipped.push({ eventIndex: undefined, reason: "malformed", detail: "Program data is not valid base64" });
      continue;
    }
    if (!hasPaymentRecordDiscriminator(bytes)) {
      const name = policyEventNameOf(bytes);
      // The program's other events (gateways, referrals …) are not for subscribers.
      if (name === undefined) continue;
      const index = policyIndex++;
      const decoded = decodePolicyEventBytes(bytes);
      if (decoded.ok) items.push({ kind: "policy", policy: { event: decoded.event, eventIndex: index } });
      else skippedPolicyEvents.push({ name, eventIndex: index, detail: decoded.reason === "malformed" ? decoded.detail : name });
      continue;
    }
    const index = eventIndex++;
    const decoded = decodePaymentRecordBytes(bytes);
    if (!decoded.ok) {
      skipped.push({ eventIndex: index, reason: "malformed", detail: decoded.detail });
      continue;
    }
    const mapped = toPaymentInput(decoded.record, { signature: tx.signature, eventIndex: index, slot: tx.slot });
    if (mapped.ok) {
      payments.push(mapped.payment);
      items.push({ kind: "payment", payment: mapped.payment });
    } else skipped.push({ eventIndex: index, reason: mapped.reason, detail: mapped.detail });
  }
  return { payments, items, skipped, skippedPolicyEvents, truncated: attributed.truncated, anomalies: attributed.anomalies };
}
