import type { PolicyEventInput, PolicyMapping, StoredPolicyEvent } from "../policy-event.js";

export interface PolicyAppendOutcome {
  event: StoredPolicyEvent;
  /** True when an event with the same identity was already stored; nothing new was written. */
  duplicate: boolean;
}

export interface PolicyListQuery {
  trackingId: string;
  /** Return events with a policy offset strictly above this one. */
  after: number;
  limit: number;
  /** Only events stored after this payment offset or later (`afterOffset >= fromPaymentOffset`). */
  fromPaymentOffset?: number | undefined;
}

/**
 * The policy side of the store, beside the payments' log and apart from it:
 * the payments table, its offsets and its reads are untouched.
 *
 * - An event's identity is `(signature, eventIndex)`; appending it again
 *   returns the stored one with `duplicate: true`.
 * - Each tracking ID has a gap-free policy offset 1, 2, 3 … of its own, and
 *   every event records the tracking ID's payment offset at its commit
 *   (`afterOffset`), read in the same transaction.
 * - The policy → tracking ID directory is kept for good (a deleted policy's
 *   account is gone from the chain, its later events still need a home);
 *   the first mapping stored for a policy wins.
 */
export interface PolicyEventLog {
  appendPolicyEvents(events: readonly PolicyEventInput[]): Promise<PolicyAppendOutcome[]>;
  listPolicyEvents(query: PolicyListQuery): Promise<StoredPolicyEvent[]>;
  /** The highest policy offset stored for the tracking ID, 0 when it has none. */
  latestPolicyOffset(trackingId: string): Promise<number>;
  rememberPolicies(mappings: readonly PolicyMapping[]): Promise<void>;
  /** The tracking IDs known for these policy addresses; unknown ones are absent from the map. */
  lookupPolicies(paymentPolicies: readonly string[]): Promise<Map<string, string>>;
  /** Those of these policies known to be ones the program may end by itself (see PolicyMapping.mayComplete). */
  completablePolicies(paymentPolicies: readonly string[]): Promise<Set<string>>;
}

/** Thrown by `appendPolicyEvents` when a stored event has the same identity but different content. */
export class PolicyIdentityConflictError extends Error {
  constructor(
    readonly signature: string,
    readonly eventIndex: number,
    readonly field: string,
  ) {
    super(`policy event ${signature}:${eventIndex} is already stored with a different ${field}`);
    this.name = "PolicyIdentityConflictError";
  }
}

const IDENTITY_BOUND_FIELDS = ["trackingId", "paymentPolicy", "status"] as const;

export function assertSamePolicyContent(stored: PolicyEventInput, input: PolicyEventInput): void {
  for (const field of IDENTITY_BOUND_FIELDS) {
    if (stored[field] !== input[field]) throw new PolicyIdentityConflictError(input.signature, input.eventIndex, field);
  }
}
