import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodePaymentPolicyAccount } from "../../src/tributary/payment-policy-account.js";
import { paymentsFromLogs } from "../../src/sources/solana/payments-from-logs.js";
import { decodePolicyEventBytes } from "../../src/tributary/policy-events.js";
import { createProgramAddress, paymentPolicyAddress } from "../../src/tributary/program-address.js";
import { randomPubkey } from "../support/payment-record-encoder.js";
import {
  encodePolicyAccount,
  encodePolicyCreated,
  encodePolicyDeleted,
  encodePolicyStatusChanged,
  encodePolicyType,
} from "../support/policy-event-encoder.js";
import { PROGRAM_ID } from "../support/tributary-instructions.js";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

describe("policy lifecycle event decoding", () => {
  test("a Subscription with max_renewals None and a unit frequency is 116 bytes, and every later field is read after it", () => {
    const policyType = { subscription: { amount: 5_000_000n, frequency: "monthly" as const } };
    assert.equal(encodePolicyType(policyType).length, 1 + 116);
    const userPayment = randomPubkey();
    const gateway = randomPubkey();
    const decoded = decodePolicyEventBytes(
      encodePolicyCreated({ userPayment, gateway, policyId: 7, policyType, memo: "sub-short", createdPoliciesCount: 3 }),
    );
    assert.ok(decoded.ok);
    assert.equal(decoded.event.name, "PaymentPolicyCreated");
    if (decoded.event.name !== "PaymentPolicyCreated") return;
    assert.equal(decoded.event.layout, "current");
    assert.equal(decoded.event.userPayment, userPayment);
    assert.equal(decoded.event.gateway, gateway);
    assert.equal(decoded.event.policyId, 7);
    assert.equal(decoded.event.createdPoliciesCount, 3);
    assert.equal(new TextDecoder().decode(decoded.event.memo.subarray(0, 9)), "sub-short");
    assert.deepEqual(decoded.event.policyType, {
      kind: "subscription",
      amount: 5_000_000n,
      autoRenew: true,
      maxRenewals: undefined,
      paymentFrequency: { kind: "monthly" },
      nextPaymentDue: 1_700_000_000n,
    });
  });

  test("a Subscription with Some(max_renewals) and Custom(u64) fills its 128 bytes", () => {
    const policyType = { subscription: { amount: 1n, maxRenewals: 12, frequency: { custom: 86_400n } } };
    assert.equal(encodePolicyType(policyType).length, 1 + 128);
    const decoded = decodePolicyEventBytes(encodePolicyCreated({ policyType, memo: "sub-full", createdPoliciesCount: 1 }));
    assert.ok(decoded.ok && decoded.event.name === "PaymentPolicyCreated");
    assert.deepEqual(decoded.event.policyType, {
      kind: "subscription",
      amount: 1n,
      autoRenew: true,
      maxRenewals: 12,
      paymentFrequency: { kind: "custom", seconds: 86_400n },
      nextPaymentDue: 1_700_000_000n,
    });
    assert.equal(new TextDecoder().decode(decoded.event.memo.subarray(0, 8)), "sub-full");
  });

  test("the first deployments' PaymentPolicyCreated (no created_policies_count) decodes as the legacy layout", () => {
    const decoded = decodePolicyEventBytes(encodePolicyCreated({ memo: "old" }));
    assert.ok(decoded.ok && decoded.event.name === "PaymentPolicyCreated");
    assert.equal(decoded.event.layout, "legacy");
    assert.equal(decoded.event.createdPoliciesCount, undefined);
  });

  test("bytes that fit no layout are refused with the event's name, not misread", () => {
    const full = encodePolicyCreated({ memo: "cut", createdPoliciesCount: 1 });
    for (const cut of [full.length - 2, full.length - 70, 40]) {
      const decoded = decodePolicyEventBytes(full.subarray(0, cut));
      assert.ok(!decoded.ok && decoded.reason === "malformed", `cut at ${cut}`);
      assert.equal(decoded.name, "PaymentPolicyCreated");
    }
    const badStatus = encodePolicyStatusChanged(randomPubkey(), "active", "paused");
    badStatus[badStatus.length - 1] = 9;
    assert.ok(!decodePolicyEventBytes(badStatus).ok);
    const badType = encodePolicyCreated({ memo: "x", createdPoliciesCount: 1 });
    badType[8 + 96 + 4] = 42;
    const decoded = decodePolicyEventBytes(badType);
    assert.ok(!decoded.ok && decoded.reason === "malformed" && /PolicyType tag 42/.test(decoded.detail));
  });

  test("status changes and deletions", () => {
    const policy = randomPubkey();
    const changed = decodePolicyEventBytes(encodePolicyStatusChanged(policy, "active", "completed"));
    assert.deepEqual(changed, { ok: true, event: { name: "PaymentPolicyStatusChanged", paymentPolicy: policy, oldStatus: "active", newStatus: "completed" } });
    const owner = randomPubkey();
    const deleted = decodePolicyEventBytes(encodePolicyDeleted(policy, owner, 4));
    assert.deepEqual(deleted, { ok: true, event: { name: "PaymentPolicyDeleted", paymentPolicy: policy, owner, policyId: 4 } });
    assert.deepEqual(decodePolicyEventBytes(new Uint8Array(40)), { ok: false, reason: "not-policy-event" });
  });

  test("the PaymentPolicy account gives its memo after a variable-length policy type", () => {
    for (const policyType of [
      { subscription: { amount: 3n, frequency: "weekly" as const } },
      { subscription: { amount: 3n, maxRenewals: 2, frequency: { custom: 60n } } },
      { oneTime: { amount: 9n } },
      { upTo: { maxAmount: 9n, deadline: 1_800_000_000n } },
    ]) {
      const userPayment = randomPubkey();
      const decoded = decodePaymentPolicyAccount(encodePolicyAccount({ userPayment, policyType, status: "paused", memo: "acct-memo" }));
      assert.ok(decoded.ok, JSON.stringify(policyType, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)));
      assert.equal(decoded.account.userPayment, userPayment);
      assert.equal(decoded.account.status, "paused");
      assert.equal(new TextDecoder().decode(decoded.account.memo.subarray(0, 9)), "acct-memo");
    }
    assert.ok(!decodePaymentPolicyAccount(new Uint8Array(300)).ok);
  });

  test("program addresses match the runtime's published vectors", () => {
    const loader = "BPFLoader1111111111111111111111111111111111";
    const text = (value: string) => new TextEncoder().encode(value);
    assert.equal(createProgramAddress([text(""), Uint8Array.of(1)], loader), "3gF2KMe9KiC6FNVBmfg9i267aMPvK37FewCip4eGBFcT");
    assert.equal(createProgramAddress([text("☉")], loader), "7ytmC1nT1xY4RfxCV2ZgyA7UakC93do5ZdyhdF3EtPj7");
    assert.equal(createProgramAddress([text("Talking"), text("Squirrels")], loader), "HwRVBufQ4haG5XSgpspwKtNd3PC9GM9m1196uJW36vds");
  });

  test("the policy address is a stable program address off the curve, distinct per policy id", () => {
    const userPayment = randomPubkey();
    const a = paymentPolicyAddress(userPayment, 1, PROGRAM_ID);
    assert.equal(paymentPolicyAddress(userPayment, 1, PROGRAM_ID), a);
    assert.notEqual(paymentPolicyAddress(userPayment, 2, PROGRAM_ID), a);
    assert.match(a, /^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
  });

  test("logs give payments and policy events in log order, each counted in its own index", () => {
    const policy = randomPubkey();
    const logs = [
      `Program ${PROGRAM_ID} invoke [1]`,
      `Program data: ${b64(encodePolicyCreated({ memo: "order", createdPoliciesCount: 1 }))}`,
      `Program data: ${b64(encodePolicyStatusChanged(policy, "active", "paused"))}`,
      // An old layout cut short: counted as skipped, the rest still read.
      `Program data: ${b64(encodePolicyDeleted(policy, randomPubkey(), 1).subarray(0, 50))}`,
      `Program ${PROGRAM_ID} success`,
    ];
    const found = paymentsFromLogs(logs, { programId: PROGRAM_ID, signature: "sig", slot: 1 });
    assert.deepEqual(
      found.items.map((item) => (item.kind === "policy" ? [item.policy.event.name, item.policy.eventIndex] : ["payment"])),
      [
        ["PaymentPolicyCreated", 0],
        ["PaymentPolicyStatusChanged", 1],
      ],
    );
    assert.deepEqual(found.skippedPolicyEvents.map((s) => [s.name, s.eventIndex]), [["PaymentPolicyDeleted", 2]]);
    assert.equal(found.payments.length, 0);
  });
});
