import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { paymentPolicyAddress } from "../../src/tributary/program-address.js";
import { randomPubkey } from "../support/payments.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";
import { memoBytes, paymentRecordEvent, policyEventMessage } from "../support/stream-messages.js";
import { emitWithAck, startTestServer } from "../support/test-server.js";
import { waitUntil } from "../support/wait.js";

const PROGRAM_ID = "TRibg8W8zmPHQqWtyAD1rEBRXEdyU13Mu6qX1Sg42tJ";
const GROUP = "tributary-ws";

let redis: RedisServer;
let client: Redis;
before(async () => {
  redis = await startRedisServer();
  client = new Redis(redis.url);
});
after(async () => {
  client.disconnect();
  await redis.close();
});

test("the indexer's policy messages reach subscribers in stream order with its payments; an unplaceable one is skipped and acknowledged", async () => {
  const stream = "policy-stream-1";
  const node = await startTestServer({ REDIS_URL: redis.url, INGEST_REDIS_STREAM: stream, INGEST_REDIS_CONSUMER: "node-1" });
  try {
    const socket = await node.connect();
    const seen: string[] = [];
    socket.on("payment", (m: any) => seen.push(`payment #${m.data.offset}`));
    socket.on("policy", (m: any) => seen.push(`${m.data.previousStatus ?? "-"}>${m.data.status} p${m.data.policyOffset} ${m.data.timestamp}`));
    await emitWithAck(socket, "subscribe", { trackingId: "stream-sub" });

    const userPayment = randomPubkey();
    const policy = paymentPolicyAddress(userPayment, 4, PROGRAM_ID);
    const add = (message: Record<string, unknown>) => client.xadd(stream, "*", "message", JSON.stringify(message));
    await add(
      policyEventMessage("PaymentPolicyCreated", {
        user_payment: userPayment,
        recipient: randomPubkey(),
        gateway: randomPubkey(),
        policy_id: 4,
        policy_type: { subscription: { amount: "5", auto_renew: true, max_renewals: null } },
        memo: memoBytes("stream-sub"),
        created_policies_count: 4,
      }),
    );
    await add(paymentRecordEvent({ memo: "stream-sub", amount: "5", paymentPolicy: policy }));
    await add(policyEventMessage("PaymentPolicyStatusChanged", { payment_policy: policy, old_status: { active: {} }, new_status: "Paused" }, { blockTime: 1_700_000_200_000 }));
    // A policy nobody has told the service about: nothing to attribute it to.
    await add(policyEventMessage("PaymentPolicyDeleted", { payment_policy: randomPubkey(), owner: randomPubkey(), policy_id: 1 }));
    await add(policyEventMessage("PaymentPolicyDeleted", { payment_policy: policy, owner: randomPubkey(), policy_id: 4 }));
    await waitUntil(() => seen.length === 4, "four events", 10_000);
    assert.deepEqual(seen, ["->created p1 1700000100", "payment #1", "active>paused p2 1700000200", "->deleted p3 1700000100"]);
    await waitUntil(async () => Number(((await client.xpending(stream, GROUP)) as unknown[])[0]) === 0, "every entry acknowledged");
    const metrics = await fetch(`${node.url}/metrics`).then((r) => r.text());
    assert.match(metrics, /reason="unknown_policy"/);
  } finally {
    await node.close();
  }
});
