/**
 * Tributary's `PolicyType` borsh enum: a tag byte, then the variant's fields.
 *
 * The program sizes each variant to 128 bytes for account space, but borsh
 * writes an `Option` that is None as one byte and a unit `PaymentFrequency`
 * as one byte, so the encoded length varies (a Subscription takes 116 to 128
 * bytes). Everything after it moves with it: read field by field, never at a
 * fixed offset.
 */
import { BorshError, type BorshReader } from "./borsh-reader.js";

export const PAYMENT_FREQUENCIES = ["daily", "weekly", "monthly", "quarterly", "semiAnnually", "annually"] as const;

export type PaymentFrequency =
  | { kind: (typeof PAYMENT_FREQUENCIES)[number] }
  | { kind: "custom"; seconds: bigint };

export type PolicyType =
  | {
      kind: "subscription";
      amount: bigint;
      autoRenew: boolean;
      maxRenewals: number | undefined;
      paymentFrequency: PaymentFrequency;
      nextPaymentDue: bigint;
    }
  | { kind: "milestone"; escrowAmount: bigint; currentMilestone: number; totalMilestones: number }
  | { kind: "payAsYouGo"; maxAmountPerPeriod: bigint; maxChunkAmount: bigint; periodLengthSeconds: bigint; expiryDate: bigint | undefined }
  | { kind: "oneTime"; amount: bigint; dueDate: bigint; expiryDate: bigint | undefined }
  | { kind: "upTo"; maxAmount: bigint; validAfter: bigint; deadline: bigint };

export type PolicyKind = PolicyType["kind"];

/** Padding after each variant's fields, so that the variant fills 128 bytes when every Option is Some. */
const SUBSCRIPTION_PADDING = 97;
const MILESTONE_PADDING = 53;
const PAY_AS_YOU_GO_PADDING = 79;
const ONE_TIME_PADDING = 103;
const UP_TO_PADDING = 104;

function readFrequency(reader: BorshReader): PaymentFrequency {
  const tag = reader.u8("payment_frequency tag");
  const unit = PAYMENT_FREQUENCIES[tag];
  if (unit !== undefined) return { kind: unit };
  if (tag === PAYMENT_FREQUENCIES.length) return { kind: "custom", seconds: reader.u64("payment_frequency seconds") };
  throw new BorshError(`unknown PaymentFrequency tag ${tag}`);
}

/**
 * Whether the program can end a policy of this type by itself: a Subscription
 * with max_renewals, and the Milestone, OneTime and UpTo policies, which run
 * out. It does so inside execute_payment, without a status event.
 */
export function mayComplete(policyType: PolicyType): boolean {
  return policyType.kind === "subscription" ? policyType.maxRenewals !== undefined : policyType.kind !== "payAsYouGo";
}

/** Reads one PolicyType; throws a BorshError for an unknown variant or too few bytes. */
export function readPolicyType(reader: BorshReader): PolicyType {
  const tag = reader.u8("policy_type tag");
  switch (tag) {
    case 0: {
      const amount = reader.u64("subscription amount");
      const autoRenew = reader.bool("auto_renew");
      const maxRenewals = reader.option("max_renewals", () => reader.u32("max_renewals"));
      const paymentFrequency = readFrequency(reader);
      const nextPaymentDue = reader.i64("next_payment_due");
      reader.skip(SUBSCRIPTION_PADDING, "subscription padding");
      return { kind: "subscription", amount, autoRenew, maxRenewals, paymentFrequency, nextPaymentDue };
    }
    case 1: {
      reader.skip(64, "milestone amounts and timestamps");
      const currentMilestone = reader.u8("current_milestone");
      reader.u8("release_condition");
      const totalMilestones = reader.u8("total_milestones");
      const escrowAmount = reader.u64("escrow_amount");
      reader.skip(MILESTONE_PADDING, "milestone padding");
      return { kind: "milestone", escrowAmount, currentMilestone, totalMilestones };
    }
    case 2: {
      const maxAmountPerPeriod = reader.u64("max_amount_per_period");
      const maxChunkAmount = reader.u64("max_chunk_amount");
      const periodLengthSeconds = reader.u64("period_length_seconds");
      reader.skip(16, "current period");
      const expiryDate = reader.option("expiry_date", () => reader.i64("expiry_date"));
      reader.skip(PAY_AS_YOU_GO_PADDING, "pay-as-you-go padding");
      return { kind: "payAsYouGo", maxAmountPerPeriod, maxChunkAmount, periodLengthSeconds, expiryDate };
    }
    case 3: {
      const amount = reader.u64("one-time amount");
      const dueDate = reader.i64("due_date");
      const expiryDate = reader.option("expiry_date", () => reader.i64("expiry_date"));
      reader.skip(ONE_TIME_PADDING, "one-time padding");
      return { kind: "oneTime", amount, dueDate, expiryDate };
    }
    case 4: {
      const maxAmount = reader.u64("max_amount");
      const validAfter = reader.i64("valid_after");
      const deadline = reader.i64("deadline");
      reader.skip(UP_TO_PADDING, "up-to padding");
      return { kind: "upTo", maxAmount, validAfter, deadline };
    }
    default:
      throw new BorshError(`unknown PolicyType tag ${tag}`);
  }
}
