import type { PaymentInput } from "../payment.js";

/** The outcome of ingesting one payment, in input order. */
export interface IngestOutcome {
  id: string;
  trackingId: string;
  offset: number;
  duplicate: boolean;
}

/**
 * The narrow door through which every source hands payments to the core.
 * It resolves only after the payments are durably stored (and then emitted),
 * so a source may acknowledge or checkpoint upstream once it resolves, and
 * must not before. It rejects when the store is unusable.
 */
export interface PaymentSink {
  ingest(payments: readonly PaymentInput[]): Promise<IngestOutcome[]>;
}
