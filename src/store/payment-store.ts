import type { PaymentInput, StoredPayment } from "../payment.js";
import type { PolicyEventLog } from "./policy-event-log.js";

/** What happened to one payment handed to {@link PaymentStore.append}. */
export interface AppendOutcome {
  payment: StoredPayment;
  /** True when a payment with the same identity was already stored; nothing new was written. */
  duplicate: boolean;
}

/** What retention keeps; an unset bound keeps everything. */
export interface RetentionPolicy {
  /** Delete payments the store received before this time (ms since the epoch). */
  receivedBefore?: number | undefined;
  /** Keep at most this many (at least 1) of the newest payments per tracking ID. */
  keepPerTrackingId?: number | undefined;
}

/** A tracking ID's newest payment and policy-event offsets, 0 for none. */
export interface TrackingHeads {
  latestOffset: number;
  latestPolicyOffset: number;
}

export interface ListQuery {
  trackingId: string;
  /** Return payments with an offset strictly above this one. */
  after: number;
  limit: number;
}

/**
 * The contract every store driver fulfils (see test/support/store-contract.ts).
 *
 * - A payment's identity is `(signature, eventIndex)`: appending it again
 *   returns the stored one with `duplicate: true`.
 * - Each tracking ID has a gap-free offset 1, 2, 3 … assigned in the same
 *   transaction as the insert.
 * - `append` is atomic: it either stores every new payment of the batch or,
 *   when it throws, none of them.
 * - When `append` resolves, the payments are durable.
 *
 * The policy lifecycle log ({@link PolicyEventLog}) lives in the same store,
 * in tables of its own; the payment methods below do not see it.
 */
export interface PaymentStore extends PolicyEventLog {
  append(payments: readonly PaymentInput[]): Promise<AppendOutcome[]>;
  list(query: ListQuery): Promise<StoredPayment[]>;
  /** The highest offset stored for the tracking ID, 0 when it has none. */
  latestOffset(trackingId: string): Promise<number>;
  /**
   * Both heads of each tracking ID, in the order asked, read in one
   * statement: the subscribes of one turn share it, since on SQLite a read's
   * transaction costs more than its lookups (docs/performance.md, connect).
   */
  heads(trackingIds: readonly string[]): Promise<TrackingHeads[]>;
  /** Source checkpoints (for example the last processed chain signature), kept with the payments. */
  readCheckpoint(source: string): Promise<string | undefined>;
  writeCheckpoint(source: string, value: string): Promise<void>;
  /**
   * Deletes what retention no longer keeps; heads stay, so offsets never
   * restart. Returns how many payments were deleted.
   */
  prune(policy: RetentionPolicy): Promise<number>;
  /** Resolves when the store can serve reads and writes; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Fields that define a payment; a re-publish that changes one of them is refused, not silently dropped. */
const IDENTITY_BOUND_FIELDS = ["trackingId", "amount", "timestamp", "status"] as const;

/** The identity rule every driver applies to a payment it already holds. */
export function assertSameContent(stored: PaymentInput, input: PaymentInput): void {
  for (const field of IDENTITY_BOUND_FIELDS) {
    if (stored[field] !== input[field]) throw new IdentityConflictError(input.signature, input.eventIndex, field);
  }
}

/** Thrown by `append` when a stored payment has the same identity but different content. */
export class IdentityConflictError extends Error {
  constructor(
    readonly signature: string,
    readonly eventIndex: number,
    readonly field: string,
  ) {
    super(`payment ${signature}:${eventIndex} is already stored with a different ${field}`);
    this.name = "IdentityConflictError";
  }
}

/**
 * Thrown by a driver when the store is broken beyond a retry (a corrupt file,
 * an I/O error), as opposed to briefly unavailable. The app answers it by
 * dropping its clients with `CONNECTION_ERROR` and exiting, so a supervisor
 * restarts it and clients move to a healthy node.
 */
export class StoreFatalError extends Error {
  constructor(override readonly cause: unknown) {
    super(`the payment store is broken: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "StoreFatalError";
  }
}
