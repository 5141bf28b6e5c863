/**
 * The `PaymentPolicy` account: an 8-byte discriminator
 * (`sha256("account:PaymentPolicy")[0..8]`), then borsh `user_payment`,
 * `recipient`, `gateway`, the variable-length policy type, `status` and the
 * 64-byte `memo`, `total_paid: u64`, `payment_count: u32`; the fields after
 * those are not needed here.
 *
 * Its address is the program's PDA of
 * `["payment_policy", user_payment, policy_id as u32 little-endian]`.
 */
import { createHash } from "node:crypto";
import { BorshError, BorshReader } from "./borsh-reader.js";
import { readChainPolicyStatus, type ChainPolicyStatus } from "./policy-events.js";
import { readPolicyType, type PolicyType } from "./policy-type.js";

export const PAYMENT_POLICY_ACCOUNT_DISCRIMINATOR: Uint8Array = createHash("sha256")
  .update("account:PaymentPolicy")
  .digest()
  .subarray(0, 8);

/** The seed constant `PAYMENT_POLICY_SEED` of the program. */
export const PAYMENT_POLICY_SEED = "payment_policy";

export interface PaymentPolicyAccount {
  userPayment: string;
  recipient: string;
  gateway: string;
  policyType: PolicyType;
  status: ChainPolicyStatus;
  memo: Uint8Array;
  totalPaid: bigint;
  /** Payments executed so far; a PaymentRecord's record_id is this count right after it. */
  paymentCount: number;
}

export type PolicyAccountDecodeResult = { ok: true; account: PaymentPolicyAccount } | { ok: false; detail: string };

export function decodePaymentPolicyAccount(data: Uint8Array): PolicyAccountDecodeResult {
  if (data.length < 8 || !PAYMENT_POLICY_ACCOUNT_DISCRIMINATOR.every((byte, i) => data[i] === byte)) {
    return { ok: false, detail: "account data is not a PaymentPolicy" };
  }
  const reader = new BorshReader(data, 8);
  try {
    const userPayment = reader.pubkey("user_payment");
    const recipient = reader.pubkey("recipient");
    const gateway = reader.pubkey("gateway");
    const policyType = readPolicyType(reader);
    const status = readChainPolicyStatus(reader, "status");
    const memo = reader.bytes(64, "memo");
    const totalPaid = reader.u64("total_paid");
    const paymentCount = reader.u32("payment_count");
    return { ok: true, account: { userPayment, recipient, gateway, policyType, status, memo, totalPaid, paymentCount } };
  } catch (error) {
    if (error instanceof BorshError) return { ok: false, detail: `PaymentPolicy account: ${error.message}` };
    throw error;
  }
}
