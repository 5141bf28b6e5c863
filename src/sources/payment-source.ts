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

export type SourceState = "starting" | "backfilling" | "live" | "reconnecting" | "stopped" | "failed";

export interface SourceStatus {
  state: SourceState;
  /** How far behind the source is, in its own unit (slots for the chain, messages for a queue). */
  lag?: number | undefined;
  /** Server time (ms) of the last payment the source delivered. */
  lastPaymentAt?: number | undefined;
  detail?: string | undefined;
}

/** A long-running producer of payments, started and stopped with the app. */
export interface PaymentSource {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): SourceStatus;
}
