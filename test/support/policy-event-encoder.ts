/**
 * Encodes Tributary's policy lifecycle events and the PaymentPolicy account
 * byte for byte as the program's borsh does (Options and unit enum variants
 * take one byte, so a PolicyType is often shorter than its 128-byte budget).
 */
import bs58 from "bs58";
import { eventDiscriminator } from "../../src/tributary/policy-events.js";
import { PAYMENT_POLICY_ACCOUNT_DISCRIMINATOR } from "../../src/tributary/payment-policy-account.js";
import { randomPubkey } from "./payment-record-encoder.js";

export type FrequencyInit = "daily" | "weekly" | "monthly" | "quarterly" | "semiAnnually" | "annually" | { custom: bigint };

export type PolicyTypeInit =
  | { subscription: { amount: bigint; autoRenew?: boolean; maxRenewals?: number; frequency: FrequencyInit; nextPaymentDue?: bigint } }
  | { oneTime: { amount: bigint; dueDate?: bigint; expiryDate?: bigint } }
  | { upTo: { maxAmount: bigint; validAfter?: bigint; deadline: bigint } };

const UNIT_FREQUENCIES = ["daily", "weekly", "monthly", "quarterly", "semiAnnually", "annually"];
const STATUS_TAGS = { active: 0, paused: 1, completed: 2 } as const;
export type StatusInit = keyof typeof STATUS_TAGS;

class Writer {
  private readonly parts: Uint8Array[] = [];
  bytes(bytes: Uint8Array): this {
    this.parts.push(bytes);
    return this;
  }
  u8(value: number): this {
    return this.bytes(Uint8Array.of(value));
  }
  u32(value: number): this {
    const out = Buffer.alloc(4);
    out.writeUInt32LE(value);
    return this.bytes(out);
  }
  u64(value: bigint): this {
    const out = Buffer.alloc(8);
    out.writeBigUInt64LE(value);
    return this.bytes(out);
  }
  i64(value: bigint): this {
    const out = Buffer.alloc(8);
    out.writeBigInt64LE(value);
    return this.bytes(out);
  }
  pubkey(key: string): this {
    const bytes = bs58.decode(key);
    if (bytes.length !== 32) throw new Error(`not a 32-byte key: ${key}`);
    return this.bytes(bytes);
  }
  zeros(count: number): this {
    return this.bytes(new Uint8Array(count));
  }
  memo(memo: string | Uint8Array): this {
    const bytes = typeof memo === "string" ? new TextEncoder().encode(memo) : memo;
    if (bytes.length > 64) throw new Error("memo longer than 64 bytes");
    const out = new Uint8Array(64);
    out.set(bytes);
    return this.bytes(out);
  }
  done(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

export function encodePolicyType(policyType: PolicyTypeInit): Uint8Array {
  const w = new Writer();
  if ("subscription" in policyType) {
    const s = policyType.subscription;
    w.u8(0).u64(s.amount).u8(s.autoRenew === false ? 0 : 1);
    if (s.maxRenewals === undefined) w.u8(0);
    else w.u8(1).u32(s.maxRenewals);
    if (typeof s.frequency === "string") w.u8(UNIT_FREQUENCIES.indexOf(s.frequency));
    else w.u8(6).u64(s.frequency.custom);
    w.i64(s.nextPaymentDue ?? 1_700_000_000n).zeros(97);
  } else if ("oneTime" in policyType) {
    const o = policyType.oneTime;
    w.u8(3).u64(o.amount).i64(o.dueDate ?? 0n);
    if (o.expiryDate === undefined) w.u8(0);
    else w.u8(1).i64(o.expiryDate);
    w.zeros(103);
  } else {
    const u = policyType.upTo;
    w.u8(4).u64(u.maxAmount).i64(u.validAfter ?? 0n).i64(u.deadline).zeros(104);
  }
  return w.done();
}

export interface PolicyCreatedInit {
  userPayment?: string;
  recipient?: string;
  gateway?: string;
  policyId?: number;
  policyType?: PolicyTypeInit;
  memo: string | Uint8Array;
  /** Omit for the first deployments' layout, which ended after the memo. */
  createdPoliciesCount?: number;
}

export const DEFAULT_POLICY_TYPE: PolicyTypeInit = { subscription: { amount: 1_000_000n, frequency: "monthly" } };

export function encodePolicyCreated(init: PolicyCreatedInit): Uint8Array {
  const w = new Writer()
    .bytes(eventDiscriminator("PaymentPolicyCreated"))
    .pubkey(init.userPayment ?? randomPubkey())
    .pubkey(init.recipient ?? randomPubkey())
    .pubkey(init.gateway ?? randomPubkey())
    .u32(init.policyId ?? 1)
    .bytes(encodePolicyType(init.policyType ?? DEFAULT_POLICY_TYPE))
    .memo(init.memo);
  if (init.createdPoliciesCount !== undefined) w.u32(init.createdPoliciesCount);
  return w.done();
}

export function encodePolicyStatusChanged(paymentPolicy: string, oldStatus: StatusInit, newStatus: StatusInit): Uint8Array {
  return new Writer()
    .bytes(eventDiscriminator("PaymentPolicyStatusChanged"))
    .pubkey(paymentPolicy)
    .u8(STATUS_TAGS[oldStatus])
    .u8(STATUS_TAGS[newStatus])
    .done();
}

export function encodePolicyDeleted(paymentPolicy: string, owner: string, policyId: number): Uint8Array {
  return new Writer()
    .bytes(eventDiscriminator("PaymentPolicyDeleted"))
    .pubkey(paymentPolicy)
    .pubkey(owner)
    .u32(policyId)
    .done();
}

export interface PolicyAccountInit {
  userPayment: string;
  recipient?: string;
  gateway?: string;
  policyType?: PolicyTypeInit;
  status?: StatusInit;
  memo: string | Uint8Array;
  policyId?: number;
  paymentCount?: number;
}

/** The account as the program lays it out; the tail after the memo is counters, times, ids and padding. */
export function encodePolicyAccount(init: PolicyAccountInit): Uint8Array {
  const w = new Writer()
    .bytes(PAYMENT_POLICY_ACCOUNT_DISCRIMINATOR)
    .pubkey(init.userPayment)
    .pubkey(init.recipient ?? randomPubkey())
    .pubkey(init.gateway ?? randomPubkey())
    .bytes(encodePolicyType(init.policyType ?? DEFAULT_POLICY_TYPE))
    .u8(STATUS_TAGS[init.status ?? "active"])
    .memo(init.memo)
    .u64(0n)
    .u32(init.paymentCount ?? 0)
    .i64(1_700_000_000n)
    .i64(1_700_000_000n)
    .u32(init.policyId ?? 1)
    .u8(255)
    .pubkey(randomPubkey());
  const fields = w.done();
  // The program allocates the full size, so an account is longer than its fields whatever the variant.
  const out = new Uint8Array(8 + 32 * 3 + 129 + 1 + 64 + 8 + 4 + 8 + 8 + 4 + 1 + 32 + 223);
  out.set(fields);
  return out;
}
