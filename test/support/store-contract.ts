import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IdentityConflictError, type PaymentStore } from "../../src/store/payment-store.js";
import { PolicyIdentityConflictError } from "../../src/store/policy-event-log.js";
import { paymentInput, policyEventInput } from "./payments.js";

/**
 * The behaviour every store driver must have. Each driver's test file calls
 * this with a factory that opens a fresh, empty store.
 */
export function storeContract(name: string, open: (clock?: () => number) => Promise<PaymentStore>): void {
  const payment = paymentInput;

  const withStore = (fn: (store: PaymentStore) => Promise<void>) => async () => {
    const store = await open();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };

  describe(`store contract: ${name}`, () => {
    test("prune deletes by age and by count per tracking ID; offsets continue after it", async () => {
      let clock = 1_000;
      const store = await open(() => clock);
      try {
        await store.append([payment("old"), payment("old"), payment("kept")]);
        clock = 2_000;
        await store.append(Array.from({ length: 5 }, () => payment("kept")));
        // Every row of "old" goes; its head must not.
        assert.equal(await store.prune({ receivedBefore: 1_500 }), 3);
        assert.equal(await store.latestOffset("old"), 2);
        assert.equal(await store.prune({ keepPerTrackingId: 2 }), 3);
        assert.deepEqual(
          (await store.list({ trackingId: "kept", after: 0, limit: 10 })).map((p) => p.offset),
          [5, 6],
        );
        const [next] = await store.append([payment("old")]);
        assert.equal(next?.payment.offset, 3);
        assert.equal(await store.prune({}), 0);
      } finally {
        await store.close();
      }
    });

    test(
      "offsets are gap-free per tracking ID and assigned in input order",
      withStore(async (store) => {
        const outcomes = await store.append([payment("a"), payment("b"), payment("a"), payment("a")]);
        assert.deepEqual(
          outcomes.map((o) => [o.payment.trackingId, o.payment.offset, o.duplicate]),
          [
            ["a", 1, false],
            ["b", 1, false],
            ["a", 2, false],
            ["a", 3, false],
          ],
        );
        assert.equal(await store.latestOffset("a"), 3);
        assert.equal(await store.latestOffset("b"), 1);
        assert.equal(await store.latestOffset("none"), 0);
      }),
    );

    test(
      "the identity (signature, eventIndex) is stored once, also within one batch",
      withStore(async (store) => {
        const first = payment("a");
        const [stored] = await store.append([first]);
        const outcomes = await store.append([first, { ...first, eventIndex: 1 }, { ...first, eventIndex: 1 }]);
        assert.deepEqual(
          outcomes.map((o) => [o.payment.id, o.payment.offset, o.duplicate]),
          [
            [`${first.signature}:0`, 1, true],
            [`${first.signature}:1`, 2, false],
            [`${first.signature}:1`, 2, true],
          ],
        );
        assert.equal(outcomes[0]?.payment.receivedAt, stored?.payment.receivedAt);
        assert.equal(await store.latestOffset("a"), 2);
      }),
    );

    test(
      "a batch is atomic: a conflicting item leaves nothing of its batch behind",
      withStore(async (store) => {
        const first = payment("a");
        await store.append([first]);
        await assert.rejects(store.append([payment("a"), { ...first, amount: 2n }]), IdentityConflictError);
        assert.equal(await store.latestOffset("a"), 1);
        assert.equal((await store.list({ trackingId: "a", after: 0, limit: 10 })).length, 1);
      }),
    );

    test(
      "concurrent appends are independent: a failing one leaves the others stored",
      withStore(async (store) => {
        const first = payment("c");
        await store.append([first]);
        const [a, conflict, b] = await Promise.allSettled([
          store.append([payment("c")]),
          store.append([payment("c"), { ...first, amount: 9n }]),
          store.append([payment("c")]),
        ]);
        assert.equal(conflict?.status, "rejected");
        assert.ok(conflict?.status === "rejected" && conflict.reason instanceof IdentityConflictError);
        const offsets = [a, b].map((result) => (result?.status === "fulfilled" ? result.value[0]?.payment.offset : -1));
        assert.deepEqual(offsets.sort(), [2, 3]);
        assert.equal(await store.latestOffset("c"), 3);
      }),
    );

    test(
      "u64 amounts and every optional field round-trip exactly",
      withStore(async (store) => {
        const full = payment("exact", {
          amount: 2n ** 64n - 1n,
          status: "pending",
          eventIndex: 3,
          paymentPolicy: "policy",
          gateway: "gateway",
          payer: "payer",
          recipient: "recipient",
          tokenMint: "mint",
          recordId: 4_294_967_295,
          slot: 123_456_789,
        });
        await store.append([full, payment("exact", { amount: 0n })]);
        const [listed, bare] = await store.list({ trackingId: "exact", after: 0, limit: 10 });
        assert.deepEqual({ ...listed, receivedAt: 0 }, { ...full, id: `${full.signature}:3`, offset: 1, receivedAt: 0 });
        assert.equal(bare?.amount, 0n);
        assert.equal(bare?.payer, undefined);
      }),
    );

    test(
      "list pages by offset",
      withStore(async (store) => {
        await store.append(Array.from({ length: 10 }, () => payment("paged")));
        const page = await store.list({ trackingId: "paged", after: 3, limit: 4 });
        assert.deepEqual(
          page.map((p) => p.offset),
          [4, 5, 6, 7],
        );
        assert.deepEqual(await store.list({ trackingId: "paged", after: 10, limit: 4 }), []);
      }),
    );

    test(
      "heads reads both heads of many tracking IDs at once, in the order asked",
      withStore(async (store) => {
        // Quotes, a backslash and characters outside ASCII go through the drivers' array encodings unchanged.
        const odd = `a "quoted" \\ id, café ✓`;
        await store.append([payment("p"), payment("p"), payment("p"), payment(odd)]);
        await store.appendPolicyEvents([policyEventInput("p", { status: "created" }), policyEventInput("only-policy", { status: "created" })]);
        assert.deepEqual(await store.heads([]), []);
        assert.deepEqual(await store.heads(["none", "p", odd, "only-policy", "p"]), [
          { latestOffset: 0, latestPolicyOffset: 0 },
          { latestOffset: 3, latestPolicyOffset: 1 },
          { latestOffset: 1, latestPolicyOffset: 0 },
          { latestOffset: 0, latestPolicyOffset: 1 },
          { latestOffset: 3, latestPolicyOffset: 1 },
        ]);
        // One tracking ID alone, which a driver may read another way, reads the same.
        for (const [trackingId, heads] of [
          ["none", { latestOffset: 0, latestPolicyOffset: 0 }],
          ["p", { latestOffset: 3, latestPolicyOffset: 1 }],
          [odd, { latestOffset: 1, latestPolicyOffset: 0 }],
          ["only-policy", { latestOffset: 0, latestPolicyOffset: 1 }],
        ] as const) {
          assert.deepEqual(await store.heads([trackingId]), [heads], trackingId);
        }
        // Retention keeps the head of a tracking ID whose payments it deleted.
        await store.prune({ keepPerTrackingId: 1 });
        await store.prune({ receivedBefore: Number.MAX_SAFE_INTEGER });
        assert.deepEqual(await store.heads(["p"]), [{ latestOffset: 3, latestPolicyOffset: 1 }]);
        assert.equal(await store.latestOffset("p"), 3);
      }),
    );

    test(
      "checkpoints are read back and overwritten",
      withStore(async (store) => {
        assert.equal(await store.readCheckpoint("solana"), undefined);
        await store.writeCheckpoint("solana", '{"signature":"a"}');
        await store.writeCheckpoint("solana", '{"signature":"b"}');
        assert.equal(await store.readCheckpoint("solana"), '{"signature":"b"}');
      }),
    );

    test(
      "policy events get a gap-free policy offset of their own and the payment offset they follow",
      withStore(async (store) => {
        const created = policyEventInput("p", { status: "created", gateway: "gw", recipient: "rcpt", slot: 7 });
        const [first] = await store.appendPolicyEvents([created]);
        await store.append([payment("p"), payment("p")]);
        const paused = policyEventInput("p", { status: "paused", previousStatus: "active", paymentPolicy: created.paymentPolicy });
        const other = policyEventInput("q", { status: "created" });
        const outcomes = await store.appendPolicyEvents([paused, other]);
        assert.deepEqual(
          [first, ...outcomes].map((o) => [o?.event.trackingId, o?.event.policyOffset, o?.event.afterOffset, o?.duplicate]),
          [
            ["p", 1, 0, false],
            ["p", 2, 2, false],
            ["q", 1, 0, false],
          ],
        );
        // Payments keep their own gap-free offsets: policy events take none of them.
        assert.equal(await store.latestOffset("p"), 2);
        assert.deepEqual(
          (await store.list({ trackingId: "p", after: 0, limit: 10 })).map((p) => p.offset),
          [1, 2],
        );
        assert.equal(await store.latestPolicyOffset("p"), 2);
        assert.equal(await store.latestPolicyOffset("none"), 0);
        const listed = await store.listPolicyEvents({ trackingId: "p", after: 0, limit: 10 });
        assert.deepEqual(
          listed.map((e) => ({ ...e, receivedAt: 0 })),
          [
            { ...created, previousStatus: undefined, id: `${created.signature}:policy:0`, policyOffset: 1, afterOffset: 0, receivedAt: 0 },
            { ...paused, gateway: undefined, recipient: undefined, slot: undefined, id: `${paused.signature}:policy:0`, policyOffset: 2, afterOffset: 2, receivedAt: 0 },
          ],
        );
        assert.deepEqual(
          (await store.listPolicyEvents({ trackingId: "p", after: 0, limit: 10, fromPaymentOffset: 1 })).map((e) => e.policyOffset),
          [2],
        );
        assert.deepEqual(
          (await store.listPolicyEvents({ trackingId: "p", after: 1, limit: 1 })).map((e) => e.policyOffset),
          [2],
        );
      }),
    );

    test(
      "a policy event's identity is stored once; a changed re-send is refused and leaves its batch out",
      withStore(async (store) => {
        const event = policyEventInput("d");
        await store.appendPolicyEvents([event]);
        const [again] = await store.appendPolicyEvents([event]);
        assert.equal(again?.duplicate, true);
        assert.equal(again?.event.policyOffset, 1);
        await assert.rejects(
          store.appendPolicyEvents([policyEventInput("d"), { ...event, status: "deleted" }]),
          PolicyIdentityConflictError,
        );
        assert.equal(await store.latestPolicyOffset("d"), 1);
      }),
    );

    test(
      "the policy directory keeps the first tracking ID learned for a policy",
      withStore(async (store) => {
        assert.deepEqual(await store.lookupPolicies([]), new Map());
        await store.rememberPolicies([
          { paymentPolicy: "P1", trackingId: "one", source: "created_event" },
          { paymentPolicy: "P2", trackingId: "two", source: "payment" },
        ]);
        await store.rememberPolicies([
          { paymentPolicy: "P1", trackingId: "other", source: "account", mayComplete: true },
          { paymentPolicy: "P2", trackingId: "two", source: "account", mayComplete: false },
        ]);
        // Learned later, the policy type fills in what was unknown, and stays once known.
        await store.rememberPolicies([{ paymentPolicy: "P2", trackingId: "two", source: "payment", mayComplete: true }]);
        assert.deepEqual(await store.completablePolicies(["P1", "P2", "P3"]), new Set(["P1"]));
        assert.deepEqual(
          await store.lookupPolicies(["P1", "P2", "P3", "P1"]),
          new Map([
            ["P1", "one"],
            ["P2", "two"],
          ]),
        );
      }),
    );

    test(
      "ping resolves on a usable store",
      withStore(async (store) => {
        await store.ping();
      }),
    );
  });
}
