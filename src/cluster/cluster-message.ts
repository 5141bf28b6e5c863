import { paymentNotificationData, type PaymentNotificationData } from "../protocol/envelopes.js";
import { PAYMENT_STATUSES, type StoredPayment } from "../payment.js";

/** The server-side event that carries a committed payment to the other nodes or workers. */
export const CLUSTER_PAYMENT_EVENT = "tributary:payment";

/** A committed payment as it travels between nodes: the wire data plus the commit time. */
export interface ClusterPaymentMessage extends PaymentNotificationData {
  receivedAt: number;
}

export function toClusterMessage(payment: StoredPayment): ClusterPaymentMessage {
  return { ...paymentNotificationData(payment), receivedAt: payment.receivedAt };
}

/** Rebuilds the payment; undefined for a message that is not one (another version, a stray publisher). */
export function fromClusterMessage(message: unknown): StoredPayment | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const m = message as Partial<ClusterPaymentMessage>;
  if (
    typeof m.trackingId !== "string" ||
    typeof m.amountRaw !== "string" ||
    !/^[0-9]{1,20}$/.test(m.amountRaw) ||
    typeof m.offset !== "number" ||
    typeof m.signature !== "string" ||
    typeof m.eventIndex !== "number" ||
    typeof m.timestamp !== "number" ||
    typeof m.receivedAt !== "number" ||
    typeof m.id !== "string" ||
    !PAYMENT_STATUSES.includes(m.status as never)
  ) {
    return undefined;
  }
  return {
    id: m.id,
    trackingId: m.trackingId,
    offset: m.offset,
    amount: BigInt(m.amountRaw),
    timestamp: m.timestamp,
    status: m.status as StoredPayment["status"],
    signature: m.signature,
    eventIndex: m.eventIndex,
    paymentPolicy: m.paymentPolicy,
    gateway: m.gateway,
    payer: m.payer,
    recipient: m.recipient,
    tokenMint: m.tokenMint,
    recordId: m.recordId,
    slot: m.slot,
    receivedAt: m.receivedAt,
  };
}
