import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PaymentStore } from "../../src/store/payment-store.js";
import { endpointMessages, messageId, testMessage } from "../../src/webhooks/webhook-messages.js";
import type { NewWebhookEndpoint, WebhookFilter, WebhookStore } from "../../src/webhooks/webhook-store.js";
import { paymentInput, policyEventInput } from "./payments.js";

export interface WebhookStores {
  payments: PaymentStore;
  webhooks: WebhookStore;
}

let endpoints = 0;
export function newEndpoint(filter: WebhookFilter = { all: true }, owner = "owner-a"): NewWebhookEndpoint {
  return {
    id: `ep_contract_${++endpoints}`,
    owner,
    url: "http://127.0.0.1:9/hook",
    filter,
    secrets: [{ secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }],
    createdAt: 1_000,
  };
}

/**
 * The behaviour every webhook store driver must have. Each driver's test
 * file calls this with a factory that opens fresh, empty stores.
 */
export function webhookStoreContract(name: string, open: () => Promise<WebhookStores>): void {
  const withStores = (fn: (stores: WebhookStores) => Promise<void>) => async () => {
    const stores = await open();
    try {
      await fn(stores);
    } finally {
      await stores.webhooks.close();
      await stores.payments.close();
    }
  };
  const now = () => 5_000;

  describe(`webhook store contract: ${name}`, () => {
    test(
      "an endpoint starts at the log's head and gets the later payments its filter selects, once",
      withStores(async ({ payments, webhooks }) => {
        await payments.append([paymentInput("before")]);
        const endpoint = await webhooks.createEndpoint(newEndpoint({ trackingIdPrefix: "order-" }));
        assert.equal(endpoint.enabled, true);
        await payments.append([paymentInput("order-1"), paymentInput("other"), paymentInput("order-1"), paymentInput("order-2")]);
        const build = endpointMessages(endpoint, now);
        assert.equal(await webhooks.materialise(endpoint.id, build, 2), 2);
        assert.equal(await webhooks.materialise(endpoint.id, build, 100), 2);
        assert.equal(await webhooks.materialise(endpoint.id, build, 100), 0, "caught up: nothing passed twice");
        assert.equal((await webhooks.backlog(endpoint.id)).pending, 3);
        const claimed = await webhooks.claim(endpoint.id, "node-a", now(), 1000, 10);
        assert.deepEqual(
          claimed.map((d) => [d.trackingId, d.offset]).sort(),
          [
            ["order-1", 1],
            ["order-2", 1],
          ],
          "one head per tracking ID",
        );
        const body = JSON.parse(claimed[0]!.body);
        assert.equal(body.type, "payment.executed");
        assert.equal(typeof body.data.amountRaw, "string");
      }),
    );

    test(
      "a tracking ID's next message waits until the previous one is delivered or given up",
      withStores(async ({ payments, webhooks }) => {
        const endpoint = await webhooks.createEndpoint(newEndpoint());
        await payments.append([paymentInput("t"), paymentInput("t"), paymentInput("t")]);
        await webhooks.materialise(endpoint.id, endpointMessages(endpoint, now), 100);
        const [first] = await webhooks.claim(endpoint.id, "node-a", 5_000, 1000, 10);
        assert.equal(first?.offset, 1);
        const attempt = (messageId: string, at: number) => ({ endpointId: endpoint.id, messageId, attempt: 1, attemptedAt: at, latencyMs: 3, node: "node-a" });
        assert.equal(await webhooks.recordAttempt({ ...attempt(first.messageId, 5_000), statusCode: 500 }, { kind: "retry", nextAttemptAt: 6_000 }), true);
        assert.deepEqual(await webhooks.claim(endpoint.id, "node-a", 5_500, 1000, 10), [], "not due yet, and offset 2 waits behind it");
        const [again] = await webhooks.claim(endpoint.id, "node-a", 6_000, 1000, 10);
        assert.equal(again?.messageId, first.messageId);
        assert.equal(again?.attempts, 1);
        assert.equal(await webhooks.recordAttempt({ ...attempt(first.messageId, 6_000), statusCode: 200 }, { kind: "delivered" }), true);
        const [second] = await webhooks.claim(endpoint.id, "node-a", 6_000, 1000, 10);
        assert.equal(second?.offset, 2);
        assert.equal(await webhooks.recordAttempt(attempt(second.messageId, 6_000), { kind: "given-up" }), true);
        const [third] = await webhooks.claim(endpoint.id, "node-a", 6_000, 1000, 10);
        assert.equal(third?.offset, 3);
        assert.equal((await webhooks.getDelivery(endpoint.id, second.messageId))?.state, "failed");
        const updated = await webhooks.getEndpoint(endpoint.id);
        assert.equal(updated?.lastSuccessAt, 6_000);
        assert.equal(updated?.failingSince, 6_000, "the give-up started a new run of failures");
        const log = await webhooks.listAttempts(endpoint.id, 10);
        assert.deepEqual(log.map((a) => a.statusCode), [undefined, 200, 500], "newest first");
      }),
    );

    test(
      "a lease keeps other nodes off until it expires; then the taker's record wins",
      withStores(async ({ payments, webhooks }) => {
        const endpoint = await webhooks.createEndpoint(newEndpoint());
        await payments.append([paymentInput("lease")]);
        await webhooks.materialise(endpoint.id, endpointMessages(endpoint, now), 100);
        const [held] = await webhooks.claim(endpoint.id, "node-a", 10_000, 1_000, 10);
        assert.ok(held);
        assert.deepEqual(await webhooks.claim(endpoint.id, "node-b", 10_999, 1_000, 10), []);
        const [taken] = await webhooks.claim(endpoint.id, "node-b", 11_000, 1_000, 10);
        assert.equal(taken?.messageId, held.messageId);
        assert.equal(taken?.leaseOwner, "node-b");
        const attempt = { endpointId: endpoint.id, messageId: held.messageId, attempt: 1, attemptedAt: 11_000, latencyMs: 1, statusCode: 200 };
        assert.equal(await webhooks.recordAttempt({ ...attempt, node: "node-a" }, { kind: "delivered" }), false, "node-a lost its lease");
        assert.equal((await webhooks.getDelivery(endpoint.id, held.messageId))?.state, "pending");
        assert.equal(await webhooks.recordAttempt({ ...attempt, node: "node-b" }, { kind: "delivered" }), true);
        assert.equal((await webhooks.getDelivery(endpoint.id, held.messageId))?.state, "delivered");
        assert.equal((await webhooks.listAttempts(endpoint.id, 10)).length, 2, "both attempts are in the log");
        assert.equal(await webhooks.pruneFinished(11_000), 0, "nothing finished before then");
        assert.equal(await webhooks.pruneFinished(11_001), 3, "the delivered message and its two attempts");
        assert.equal(await webhooks.getDelivery(endpoint.id, held.messageId), undefined);
      }),
    );

    test(
      "disabling stops materialising and claiming; enabling again resumes from the cursor",
      withStores(async ({ payments, webhooks }) => {
        const endpoint = await webhooks.createEndpoint(newEndpoint());
        await payments.append([paymentInput("d")]);
        await webhooks.materialise(endpoint.id, endpointMessages(endpoint, now), 100);
        const [delivery] = await webhooks.claim(endpoint.id, "n", 5_000, 1000, 10);
        const recorded = await webhooks.recordAttempt(
          { endpointId: endpoint.id, messageId: delivery!.messageId, attempt: 1, attemptedAt: 5_000, latencyMs: 1, statusCode: 410, node: "n" },
          { kind: "disable-endpoint", reason: "the receiver answered 410 Gone", nextAttemptAt: 5_000 },
        );
        assert.equal(recorded, true);
        const disabled = await webhooks.getEndpoint(endpoint.id);
        assert.equal(disabled?.enabled, false);
        assert.equal(disabled?.disabledReason, "the receiver answered 410 Gone");
        assert.deepEqual(await webhooks.listEnabledEndpoints(), []);
        assert.deepEqual((await webhooks.totals()).disabled, 1);
        await payments.append([paymentInput("d")]);
        assert.equal(await webhooks.materialise(endpoint.id, endpointMessages(endpoint, now), 100), 0);
        const enabled = await webhooks.updateEndpoint(endpoint.id, { enabled: true }, 7_000);
        assert.equal(enabled?.enabled, true);
        assert.equal(enabled?.disabledReason, undefined);
        assert.equal(await webhooks.materialise(endpoint.id, endpointMessages(endpoint, now), 100), 1);
        assert.equal((await webhooks.backlog(endpoint.id)).pending, 2, "the message that met the 410 waits too");
      }),
    );

    test(
      "enqueue makes a delivered message pending again under its id; replay by time covers what the cursor passed",
      withStores(async ({ payments, webhooks }) => {
        const endpoint = await webhooks.createEndpoint(newEndpoint());
        await payments.append([paymentInput("r"), paymentInput("r")]);
        const build = endpointMessages(endpoint, now);
        await webhooks.materialise(endpoint.id, build, 100);
        for (const delivery of await webhooks.claim(endpoint.id, "n", 5_000, 1000, 10)) {
          await webhooks.recordAttempt(
            { endpointId: endpoint.id, messageId: delivery.messageId, attempt: 1, attemptedAt: 5_000, latencyMs: 1, statusCode: 204, node: "n" },
            { kind: "delivered" },
          );
        }
        assert.equal((await webhooks.backlog(endpoint.id)).pending, 1);
        assert.equal(await webhooks.replayFrom(endpoint.id, 0, build, 100, 8_000), 2);
        assert.equal((await webhooks.backlog(endpoint.id)).pending, 2);
        const test1 = testMessage(endpoint.id, 9_000);
        await webhooks.enqueue([test1], 9_000);
        const claimed = await webhooks.claim(endpoint.id, "n", 9_000, 1000, 10);
        assert.equal(claimed.length, 2, "offset 1 and the test message (outside any order)");
        assert.ok(claimed.some((d) => d.messageId === test1.messageId));
      }),
    );

    /**
     * Materialises one log entry of each kind per round and delivers whatever
     * is claimable in between, as a dispatcher racing the log would; returns
     * what reached the receiver for tracking IDs starting with `sub-`.
     */
    async function deliverStepByStep(webhooks: WebhookStore, endpointId: string, rounds: number): Promise<string[]> {
      const endpoint = (await webhooks.getEndpoint(endpointId))!;
      const build = endpointMessages(endpoint, now);
      const seen: string[] = [];
      for (let round = 0; round < rounds; round++) {
        await webhooks.materialise(endpointId, build, 1);
        for (;;) {
          const claimed = await webhooks.claim(endpointId, "n", 5_000, 1000, 10);
          if (claimed.length === 0) break;
          for (const d of claimed) {
            const data = JSON.parse(d.body).data;
            seen.push(`${d.trackingId} ${d.type} ${data.offset ?? `${data.afterOffset}.${data.policyOffset}`}`);
            await webhooks.recordAttempt(
              { endpointId, messageId: d.messageId, attempt: 1, attemptedAt: 5_000, latencyMs: 1, statusCode: 204, node: "n" },
              { kind: "delivered" },
            );
          }
        }
      }
      assert.equal(await webhooks.materialise(endpointId, build, 100), 0, "every entry passed once");
      return seen;
    }

    test(
      "policy events go out as policy.<status> after the payment they follow, even when the payment log lags",
      withStores(async ({ payments, webhooks }) => {
        await payments.appendPolicyEvents([policyEventInput("sub-old")]);
        const endpoint = await webhooks.createEndpoint(newEndpoint({ trackingIdPrefix: "sub-" }));
        await payments.append([paymentInput("other"), paymentInput("other")]);
        await payments.appendPolicyEvents([policyEventInput("sub-a", { status: "created" })]);
        await payments.append([paymentInput("sub-a")]);
        await payments.appendPolicyEvents([
          policyEventInput("sub-a", { status: "paused", previousStatus: "active" }),
          policyEventInput("other", { status: "paused" }),
        ]);
        await payments.append([paymentInput("sub-a")]);
        const seen = await deliverStepByStep(webhooks, endpoint.id, 6);
        assert.deepEqual(seen, [
          "sub-a policy.created 0.1",
          "sub-a payment.executed 1",
          "sub-a policy.paused 1.2",
          "sub-a payment.executed 2",
        ]);
        const [paused] = await payments.listPolicyEvents({ trackingId: "sub-a", after: 1, limit: 1 });
        const delivery = await webhooks.getDelivery(endpoint.id, messageId(endpoint.id, `policy:${paused!.id}`));
        assert.equal(delivery?.state, "delivered", "the webhook-id is keyed by the policy event's id");
        const body = JSON.parse(delivery!.body);
        assert.equal(body.type, "policy.paused");
        assert.deepEqual(
          [body.data.trackingId, body.data.status, body.data.previousStatus, body.data.paymentPolicy, body.data.id],
          ["sub-a", "paused", "active", paused!.paymentPolicy, paused!.id],
        );
      }),
    );

    test(
      "a payment waits for the policy events before it when the policy log lags",
      withStores(async ({ payments, webhooks }) => {
        const endpoint = await webhooks.createEndpoint(newEndpoint({ trackingIdPrefix: "sub-" }));
        await payments.appendPolicyEvents([policyEventInput("z1"), policyEventInput("z2"), policyEventInput("z3")]);
        await payments.append([paymentInput("other"), paymentInput("other"), paymentInput("sub-b")]);
        await payments.appendPolicyEvents([
          policyEventInput("sub-b", { status: "paused" }),
          policyEventInput("sub-b", { status: "active", previousStatus: "paused" }),
        ]);
        await payments.append([paymentInput("sub-b")]);
        const seen = await deliverStepByStep(webhooks, endpoint.id, 8);
        assert.deepEqual(seen, [
          "sub-b payment.executed 1",
          "sub-b policy.paused 1.1",
          "sub-b policy.active 1.2",
          "sub-b payment.executed 2",
        ]);
      }),
    );

    test(
      "policy events follow the endpoint's filter and its types, and are covered by replay by time",
      withStores(async ({ payments, webhooks }) => {
        const endpoint = await webhooks.createEndpoint(newEndpoint({ gateway: "GatewayA" }));
        const paymentsOnly = await webhooks.createEndpoint(newEndpoint({ all: true, types: ["payment"] }));
        const policiesOnly = await webhooks.createEndpoint(newEndpoint({ all: true, types: ["policy"] }));
        await payments.append([paymentInput("g-1", { gateway: "GatewayA" })]);
        await payments.appendPolicyEvents([
          policyEventInput("g-1", { gateway: "GatewayA" }),
          policyEventInput("g-2", { gateway: "GatewayB" }),
          policyEventInput("g-3"),
        ]);
        for (const only of [paymentsOnly, policiesOnly]) {
          assert.equal(await webhooks.materialise(only.id, endpointMessages(only, now), 100), 4);
        }
        assert.deepEqual((await webhooks.claim(paymentsOnly.id, "n", 5_000, 1000, 10)).map((d) => d.type), ["payment.executed"]);
        assert.deepEqual(
          (await webhooks.claim(policiesOnly.id, "n", 5_000, 1000, 10)).map((d) => `${d.trackingId} ${d.type}`).sort(),
          ["g-1 policy.created", "g-2 policy.created", "g-3 policy.created"],
        );
        const build = endpointMessages(endpoint, now);
        assert.equal(await webhooks.materialise(endpoint.id, build, 100), 4);
        const [payment] = await webhooks.claim(endpoint.id, "n", 5_000, 1000, 10);
        assert.equal(payment?.type, "payment.executed", "the policy event after it waits");
        await webhooks.recordAttempt(
          { endpointId: endpoint.id, messageId: payment.messageId, attempt: 1, attemptedAt: 5_000, latencyMs: 1, statusCode: 200, node: "n" },
          { kind: "delivered" },
        );
        const claimed = await webhooks.claim(endpoint.id, "n", 5_000, 1000, 10);
        assert.deepEqual(claimed.map((d) => [d.trackingId, d.type]), [["g-1", "policy.created"]], "a policy event without a gateway is not selected");
        await webhooks.recordAttempt(
          { endpointId: endpoint.id, messageId: claimed[0]!.messageId, attempt: 1, attemptedAt: 5_000, latencyMs: 1, statusCode: 200, node: "n" },
          { kind: "delivered" },
        );
        assert.equal(await webhooks.replayFrom(endpoint.id, 0, build, 100, 8_000), 2);
        const again = await webhooks.claim(endpoint.id, "n", 8_000, 1000, 10);
        assert.deepEqual(again.map((d) => d.messageId), [payment.messageId], "the same webhook-ids again, in order");
      }),
    );

    test(
      "endpoints belong to their owner; update and delete",
      withStores(async ({ webhooks }) => {
        const mine = await webhooks.createEndpoint(newEndpoint({ all: true }, "owner-a"));
        await webhooks.createEndpoint(newEndpoint({ all: true }, "owner-b"));
        assert.deepEqual((await webhooks.listEndpoints("owner-a")).map((e) => e.id), [mine.id]);
        assert.equal(await webhooks.countEndpoints("owner-b"), 1);
        const updated = await webhooks.updateEndpoint(mine.id, { url: "https://example.test/h", filter: { trackingIds: ["x"] } }, 2_000);
        assert.equal(updated?.url, "https://example.test/h");
        assert.deepEqual(updated?.filter, { trackingIds: ["x"] });
        assert.equal(updated?.updatedAt, 2_000);
        assert.equal(await webhooks.deleteEndpoint(mine.id), true);
        assert.equal(await webhooks.getEndpoint(mine.id), undefined);
        assert.equal(await webhooks.deleteEndpoint(mine.id), false);
      }),
    );
  });
}
