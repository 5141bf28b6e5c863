/**
 * A payment policy's lifecycle as the service stores and delivers it:
 * created, paused, active again, completed, deleted. One normalised type for
 * every source, like {@link PaymentInput} for payments.
 *
 * Policy events have a log of their own per tracking ID (`policyOffset`,
 * gap-free from 1), beside the payments' log, and each one records
 * `afterOffset`: the tracking ID's payment offset when it was stored, which
 * places it between two payments. docs/decisions/policy-event-offsets.md
 * explains why.
 */
import type { PolicyStatus } from "./protocol/wire.js";

export type { PolicyStatus } from "./protocol/wire.js";

const STATUS_SET: Record<PolicyStatus, true> = { created: true, active: true, paused: true, completed: true, deleted: true };
export const POLICY_STATUSES = Object.keys(STATUS_SET) as [PolicyStatus, ...PolicyStatus[]];

export function isPolicyStatus(value: unknown): value is PolicyStatus {
  return typeof value === "string" && Object.hasOwn(STATUS_SET, value);
}

/** A validated policy event as it enters the store. Its identity is `(signature, eventIndex)`. */
export interface PolicyEventInput {
  trackingId: string;
  /** Base58 address of the PaymentPolicy account. */
  paymentPolicy: string;
  status: PolicyStatus;
  previousStatus?: PolicyStatus | undefined;
  /** Base58 transaction signature. */
  signature: string;
  /** Position of the event among the transaction's policy lifecycle events. */
  eventIndex: number;
  /** Chain time, unix seconds. */
  timestamp: number;
  gateway?: string | undefined;
  recipient?: string | undefined;
  slot?: number | undefined;
}

export interface StoredPolicyEvent extends PolicyEventInput {
  /** Stable id, `<signature>:policy:<eventIndex>`; never equal to a payment's id. */
  id: string;
  /** Gap-free position in the tracking ID's policy log: 1, 2, 3, … */
  policyOffset: number;
  /** The tracking ID's latest payment offset when this event was stored: it comes after that payment. */
  afterOffset: number;
  /** Server time (ms) when the store committed it. */
  receivedAt: number;
}

export function policyEventId(signature: string, eventIndex: number): string {
  return `${signature}:policy:${eventIndex}`;
}

/** Where a policy's tracking ID was learned, kept for operators. */
export type PolicyMappingSource = "created_event" | "payment" | "account";

export interface PolicyMapping {
  paymentPolicy: string;
  trackingId: string;
  source: PolicyMappingSource;
  /**
   * Whether the program may end the policy by itself (a Subscription with
   * max_renewals, a Milestone, OneTime or UpTo policy): it then sets the
   * status without a status event. Undefined when the policy type is unknown.
   */
  mayComplete?: boolean | undefined;
}
