import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ClusterStatus } from "../../src/cluster/cluster-link.js";
import type { StoredPayment } from "../../src/payment.js";
import { randomPubkey, randomSignature } from "./payments.js";
import { waitUntil } from "./wait.js";

/** One node of a linked pair, as the contract drives it: whatever the driver, in this process or another. */
export interface LinkedNode {
  /** Hands a committed payment to the node's link (`ClusterLink.publish`). */
  publish(payments: readonly StoredPayment[]): Promise<void>;
  /** Every payment the link handed to this node's `fromOtherNodes`, in arrival order; the pair's readiness probes left out. */
  readonly delivered: readonly StoredPayment[];
  status(): Promise<ClusterStatus>;
}

export interface LinkedPair {
  nodes: readonly [LinkedNode, LinkedNode];
  close(): Promise<void>;
}

/** Tracking ID of the payments a pair sends until each node hears the other; the harness hides them. */
export const PROBE_TRACKING_ID = "cluster-link-contract-probe";

let sequence = 0;

/** A payment without its absent optional fields: a driver may carry them as `undefined` or leave them out. */
const present = (payment: StoredPayment | undefined) =>
  payment === undefined ? undefined : Object.fromEntries(Object.entries(payment).filter(([, value]) => value !== undefined));

export function committedPayment(trackingId: string, overrides: Partial<StoredPayment> = {}): StoredPayment {
  const signature = randomSignature();
  return {
    id: `${signature}:0`,
    trackingId,
    offset: ++sequence,
    amount: 1_000_000n,
    timestamp: 1_700_000_000,
    status: "executed",
    signature,
    eventIndex: 0,
    receivedAt: 1_700_000_000_123,
    ...overrides,
  };
}

/** Sends probes from one node, one every 100 ms, until the other has heard one: both links are then subscribed. */
export async function untilLinked(from: LinkedNode, to: { probes: number }): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (to.probes === 0) {
    if (Date.now() > deadline) throw new Error("the two nodes never heard each other");
    await from.publish([committedPayment(PROBE_TRACKING_ID)]);
    await waitUntil(() => to.probes > 0, "a probe arrives", 100).catch(() => undefined);
  }
}

/**
 * What every ClusterLink driver must do, run against each (the Redis link
 * between nodes, the worker link between the processes of one node). `open`
 * returns two linked nodes that already hear each other.
 */
export function clusterLinkContract(name: string, open: () => Promise<LinkedPair>): void {
  const withPair = (fn: (a: LinkedNode, b: LinkedNode) => Promise<void>) => async () => {
    const pair = await open();
    try {
      await fn(...pair.nodes);
    } finally {
      await pair.close();
    }
  };

  describe(`cluster link contract: ${name}`, () => {
    test(
      "a payment one node publishes reaches the other field for field (u64 above 2^53, every optional field), and never comes back to its sender",
      withPair(async (a, b) => {
        const full = committedPayment("contract-full", {
          amount: 18_446_744_073_709_551_615n,
          status: "pending",
          eventIndex: 3,
          paymentPolicy: randomPubkey(),
          gateway: randomPubkey(),
          payer: randomPubkey(),
          recipient: randomPubkey(),
          tokenMint: randomPubkey(),
          recordId: 4_294_967_295,
          slot: 312_345_678,
        });
        await a.publish([full]);
        await waitUntil(() => b.delivered.length === 1, "the other node gets the payment");
        assert.deepEqual(present(b.delivered[0]), present(full));

        // Sent after b had a's payment, so an echo of a's own would have reached a before this one.
        const back = committedPayment("contract-back");
        await b.publish([back]);
        await waitUntil(() => a.delivered.length === 1, "the first node gets the answer");
        assert.deepEqual(a.delivered.map(present), [present(back)], "a node is not handed its own payments");
        assert.deepEqual(b.delivered.map(present), [present(full)], "nor is the other");
      }),
    );

    test(
      "payments arrive in the order they were published, also a burst published in one turn",
      withPair(async (a, b) => {
        const burst = Array.from({ length: 300 }, (_, index) => committedPayment(`contract-order-${index % 7}`));
        await a.publish(burst);
        await waitUntil(() => b.delivered.length === burst.length, "the whole burst arrives");
        assert.deepEqual(
          b.delivered.map((payment) => payment.id),
          burst.map((payment) => payment.id),
        );
      }),
    );

    test(
      "both nodes report the link connected, with nothing shed",
      withPair(async (a, b) => {
        for (const node of [a, b]) assert.deepEqual(await node.status(), { state: "connected", shed: 0 });
      }),
    );
  });
}
