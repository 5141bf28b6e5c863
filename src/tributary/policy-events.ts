/**
 * The Anchor events of a payment policy's lifecycle, decoded from their
 * `Program data:` bytes (8-byte discriminator `sha256("event:<Name>")[0..8]`,
 * then borsh):
 *
 * - `PaymentPolicyCreated { user_payment, recipient, gateway, policy_id: u32,
 *   policy_type: PolicyType, memo: [u8; 64], created_policies_count: u32 }`;
 *   the first deployments ended after `memo` (the "legacy" layout).
 * - `PaymentPolicyStatusChanged { payment_policy, old_status, new_status }`,
 *   a status being one byte: Active, Paused, and later Completed.
 * - `PaymentPolicyDeleted { payment_policy, owner, policy_id: u32 }`.
 *
 * Bytes beyond a known layout are ignored (borsh appends new fields at the
 * end), so a later program version keeps working; fewer bytes than the
 * oldest known layout are refused.
 */
import { createHash } from "node:crypto";
import { BorshError, BorshReader } from "./borsh-reader.js";
import { readPolicyType, type PolicyType } from "./policy-type.js";

export const POLICY_EVENT_NAMES = ["PaymentPolicyCreated", "PaymentPolicyStatusChanged", "PaymentPolicyDeleted"] as const;
export type PolicyEventName = (typeof POLICY_EVENT_NAMES)[number];

export function eventDiscriminator(name: string): Uint8Array {
  return createHash("sha256").update(`event:${name}`).digest().subarray(0, 8);
}

const DISCRIMINATORS: ReadonlyArray<[PolicyEventName, Uint8Array]> = POLICY_EVENT_NAMES.map((name) => [
  name,
  eventDiscriminator(name),
]);

/** The program's policy status enum, in its declaration order. */
export const CHAIN_POLICY_STATUSES = ["active", "paused", "completed"] as const;
export type ChainPolicyStatus = (typeof CHAIN_POLICY_STATUSES)[number];

export interface PaymentPolicyCreated {
  name: "PaymentPolicyCreated";
  layout: "legacy" | "current";
  userPayment: string;
  recipient: string;
  gateway: string;
  policyId: number;
  policyType: PolicyType;
  memo: Uint8Array;
  createdPoliciesCount: number | undefined;
}

export interface PaymentPolicyStatusChanged {
  name: "PaymentPolicyStatusChanged";
  paymentPolicy: string;
  oldStatus: ChainPolicyStatus;
  newStatus: ChainPolicyStatus;
}

export interface PaymentPolicyDeleted {
  name: "PaymentPolicyDeleted";
  paymentPolicy: string;
  owner: string;
  policyId: number;
}

export type PolicyEvent = PaymentPolicyCreated | PaymentPolicyStatusChanged | PaymentPolicyDeleted;

export type PolicyEventDecodeResult =
  | { ok: true; event: PolicyEvent }
  | { ok: false; reason: "not-policy-event" }
  | { ok: false; reason: "malformed"; name: PolicyEventName; detail: string };

/** Which lifecycle event the bytes announce, if any. */
export function policyEventNameOf(bytes: Uint8Array): PolicyEventName | undefined {
  if (bytes.length < 8) return undefined;
  for (const [name, discriminator] of DISCRIMINATORS) {
    let same = true;
    for (let i = 0; i < 8 && same; i++) same = bytes[i] === discriminator[i];
    if (same) return name;
  }
  return undefined;
}

export function readChainPolicyStatus(reader: BorshReader, what: string): ChainPolicyStatus {
  const tag = reader.u8(what);
  const status = CHAIN_POLICY_STATUSES[tag];
  if (status === undefined) throw new BorshError(`${what} has unknown status tag ${tag}`);
  return status;
}

/** Decodes the raw bytes of one event (discriminator included). */
export function decodePolicyEventBytes(bytes: Uint8Array): PolicyEventDecodeResult {
  const name = policyEventNameOf(bytes);
  if (name === undefined) return { ok: false, reason: "not-policy-event" };
  const reader = new BorshReader(bytes, 8);
  try {
    switch (name) {
      case "PaymentPolicyCreated": {
        const userPayment = reader.pubkey("user_payment");
        const recipient = reader.pubkey("recipient");
        const gateway = reader.pubkey("gateway");
        const policyId = reader.u32("policy_id");
        const policyType = readPolicyType(reader);
        const memo = reader.bytes(64, "memo");
        // The first deployments stopped here; anything between 1 and 3 bytes fits no layout.
        let createdPoliciesCount: number | undefined;
        if (reader.remaining > 0) createdPoliciesCount = reader.u32("created_policies_count");
        const layout = createdPoliciesCount === undefined ? "legacy" : "current";
        return {
          ok: true,
          event: { name, layout, userPayment, recipient, gateway, policyId, policyType, memo, createdPoliciesCount },
        };
      }
      case "PaymentPolicyStatusChanged": {
        const paymentPolicy = reader.pubkey("payment_policy");
        const oldStatus = readChainPolicyStatus(reader, "old_status");
        const newStatus = readChainPolicyStatus(reader, "new_status");
        return { ok: true, event: { name, paymentPolicy, oldStatus, newStatus } };
      }
      case "PaymentPolicyDeleted": {
        const paymentPolicy = reader.pubkey("payment_policy");
        const owner = reader.pubkey("owner");
        const policyId = reader.u32("policy_id");
        return { ok: true, event: { name, paymentPolicy, owner, policyId } };
      }
    }
  } catch (error) {
    if (error instanceof BorshError) return { ok: false, reason: "malformed", name, detail: `${name}: ${error.message}` };
    throw error;
  }
}
