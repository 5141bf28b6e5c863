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
