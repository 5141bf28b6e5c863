import assert from "node:assert/strict";
import { test } from "node:test";
import { ReplaySession, type ReplayHistory } from "../../src/gateway/replay-session.js";
import type { StoredPayment } from "../../src/payment.js";
import type { StoredPolicyEvent } from "../../src/policy-event.js";

const payment = (offset: number): StoredPayment => ({
  trackingId: "t",
  amount: 1n,
  timestamp: 1,
  status: "executed",
  signature: `p${offset}`,
  eventIndex: 0,
  id: `p${offset}:0`,
  offset,
  receivedAt: 0,
});

const policy = (policyOffset: number, afterOffset: number): StoredPolicyEvent => ({
  trackingId: "t",
  paymentPolicy: "P",
  status: "paused",
  signature: `s${policyOffset}`,
  eventIndex: 0,
  timestamp: 1,
  id: `s${policyOffset}:policy:0`,
  policyOffset,
  afterOffset,
  receivedAt: 0,
});

/** A history over fixed logs, where `during` runs once the first page of payments has been read (as if stored meanwhile). */
function history(payments: StoredPayment[], policies: StoredPolicyEvent[]): ReplayHistory {
  return {
    list: async ({ after, limit }) => payments.filter((p) => p.offset > after).slice(0, limit),
    latestOffset: async () => payments.length,
    listPolicyEvents: async ({ after, limit, fromPaymentOffset }) =>
      policies.filter((e) => e.policyOffset > after && e.afterOffset >= (fromPaymentOffset ?? 0)).slice(0, limit),
    heads: async (trackingIds) => trackingIds.map(() => ({ latestOffset: payments.length, latestPolicyOffset: policies.length })),
  };
}

async function replay(options: { since: number; policySince?: number; payments: StoredPayment[]; policies: StoredPolicyEvent[]; live?: StoredPolicyEvent[] }) {
  const sent: string[] = [];
  const session: ReplaySession = new ReplaySession({
    trackingId: "t",
    since: options.since,
    policySince: options.policySince,
    latestAtStart: options.payments.length,
    history: history(options.payments, options.policies),
    pageSize: 2,
    send: (p) => sent.push(`#${p.offset}`),
    sendPolicy: (e) => sent.push(`p${e.policyOffset}`),
    catchUp: async () => {
      // Live events that reached the room while the replay read the store: offered, some already read.
      for (const event of options.live ?? []) session.offerPolicy(event);
    },
    onTruncated: () => assert.fail("nothing was truncated"),
    onCaughtUp: () => sent.push("live"),
  });
  await session.run();
  return sent;
}

test("policy events go out before the first payment above their afterOffset, the rest after the last payment", async () => {
  const payments = [1, 2, 3, 4, 5].map(payment);
  const policies = [policy(1, 0), policy(2, 2), policy(3, 2), policy(4, 5)];
  assert.deepEqual(await replay({ since: 0, policySince: 0, payments, policies }), ["p1", "#1", "#2", "p2", "p3", "#3", "#4", "#5", "p4", "live"]);
  assert.deepEqual(await replay({ since: 3, policySince: 2, payments, policies }), ["p3", "#4", "#5", "p4", "live"]);
});

test("without policySince, the policy events stored after payment `since` are replayed", async () => {
  const payments = [1, 2, 3].map(payment);
  const policies = [policy(1, 0), policy(2, 2), policy(3, 3)];
  assert.deepEqual(await replay({ since: 2, payments, policies }), ["p2", "#3", "p3", "live"]);
});

test("live policy events offered during the replay are sent once, in order, before the socket goes live", async () => {
  const payments = [1, 2].map(payment);
  const stored = [policy(1, 0), policy(2, 2)];
  const late = policy(3, 2);
  // p2 is both read and offered; p3 only offered (stored after the last read).
  const sent = await replay({ since: 0, policySince: 0, payments, policies: stored, live: [stored[1]!, late] });
  assert.deepEqual(sent, ["p1", "#1", "#2", "p2", "p3", "live"]);
});
