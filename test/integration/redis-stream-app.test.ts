import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import type { PaymentInput } from "../../src/payment.js";
import { RedisStreamSource } from "../../src/sources/redis-stream/redis-stream-source.js";
import { openStore } from "../../src/store/open-store.js";
import type { AppendOutcome, PaymentStore } from "../../src/store/payment-store.js";
import { paymentBody, randomPubkey, randomSignature } from "../support/payments.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";
import { paymentRecordEvent } from "../support/stream-messages.js";
import { emitWithAck, startTestServer, type TestServer } from "../support/test-server.js";
import { collect, nextEvent, waitUntil } from "../support/wait.js";

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

const GROUP = "tributary-ws";
let streams = 0;
const nextStream = () => `app-payments-${++streams}`;

function queueNode(stream: string, consumer: string, env: Record<string, string> = {}, store?: PaymentStore): Promise<TestServer> {
  return startTestServer(
    { REDIS_URL: redis.url, INGEST_REDIS_STREAM: stream, INGEST_REDIS_CONSUMER: consumer, ...env },
    store ? { store } : {},
  );
}

function queueSource(node: TestServer): RedisStreamSource {
  const source = node.app.sources.find((candidate) => candidate instanceof RedisStreamSource);
  assert.ok(source, "the app runs a Redis stream source");
  return source;
}

const pendingCount = async (stream: string) => Number(((await client.xpending(stream, GROUP)) as unknown[])[0]);

/**
 * A store whose append is replaced, everything else passed through; `close`
 * is left to the test when several apps share one store.
 */
function wrapStore(
  store: PaymentStore,
  append: (payments: readonly PaymentInput[]) => Promise<AppendOutcome[]>,
  options: { ownsStore: boolean },
): PaymentStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === "append") return append;
      if (property === "close" && !options.ownsStore) return async () => undefined;
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe("the app with INGEST_REDIS_STREAM", () => {
  test("an indexer event and a service-format payment reach a subscriber, and each entry is acknowledged only after it is stored", async () => {
    const stream = nextStream();
    const dataDir = mkdtempSync(join(tmpdir(), "tributary-queue-app-"));
    const store = await openStore({ driver: "sqlite", path: join(dataDir, "store.sqlite") });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let appending!: () => void;
    const appendStarted = new Promise<void>((resolve) => (appending = resolve));
    const held = wrapStore(
      store,
      async (payments) => {
        appending();
        await gate;
        return store.append(payments);
      },
      { ownsStore: true },
    );
    const node = await queueNode(stream, "node-a", {}, held);
    try {
      await waitUntil(() => queueSource(node).status().state === "live", "the queue source is live");
      const socket = await node.connect();
      const payments = collect<any>(socket, "payment");
      await emitWithAck(socket, "subscribe", { trackingId: "kafka-order" });
      await emitWithAck(socket, "subscribe", { trackingId: "service-order" });

      const payer = randomPubkey();
      const signature = randomSignature();
      await client.xadd(
        stream,
        "*",
        "message",
        JSON.stringify(paymentRecordEvent({ memo: "kafka-order", amount: "18446744073709551615", signature, payer, keysAsArrays: true, slot: 777 })),
      );
      await appendStarted;
      assert.equal(await pendingCount(stream), 1, "delivered to the consumer, not yet acknowledged while the store write is under way");
      assert.equal(payments.items.length, 0);
      release();

      const [kafka] = await payments.until(1);
      assert.equal(kafka.data.trackingId, "kafka-order");
      assert.equal(kafka.data.amountRaw, "18446744073709551615");
      assert.equal(kafka.data.signature, signature);
      assert.equal(kafka.data.eventIndex, 0);
      assert.equal(kafka.data.payer, payer);
      assert.equal(kafka.data.slot, 777);
      await waitUntil(async () => (await pendingCount(stream)) === 0, "the entry is acknowledged");

      const body = paymentBody({ trackingId: "service-order", amount: "42", eventIndex: 3 });
      await client.xadd(stream, "*", "payload", JSON.stringify(body));
      const [, service] = await payments.until(2);
      assert.equal(service.data.trackingId, "service-order");
      assert.equal(service.data.amountRaw, "42");
      assert.equal(service.data.id, `${body.signature}:3`);
      await waitUntil(async () => (await pendingCount(stream)) === 0, "the entry is acknowledged");

      const health = await node.get("/v1/health");
      assert.equal(health.body.sources["redis-stream"].state, "live");
      const metrics = await (await fetch(`${node.url}/metrics`)).text();
      assert.match(metrics, /^tributary_redis_stream_stored_total 2$/m);
      assert.match(metrics, /^tributary_payments_ingested_total\{source="redis-stream"\} 2$/m);
    } finally {
      release();
      await node.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("two nodes in one consumer group share the stream: each entry is stored by exactly one of them, and together they store all", async () => {
    const stream = nextStream();
    const nodes = [
      await queueNode(stream, "node-a", { INGEST_REDIS_BATCH_SIZE: "1" }),
      await queueNode(stream, "node-b", { INGEST_REDIS_BATCH_SIZE: "1" }),
    ];
    try {
      const storedBy = nodes.map(() => new Set<string>());
      nodes.forEach((node, index) =>
        queueSource(node).on("stored", ({ payments }) => payments.forEach((payment) => storedBy[index]!.add(payment.trackingId))),
      );
      await Promise.all(nodes.map((node) => waitUntil(() => queueSource(node).status().state === "live", "the queue source is live")));
      const trackingIds = Array.from({ length: 30 }, (_, i) => `shared-${i}`);
      for (const trackingId of trackingIds) await client.xadd(stream, "*", "message", JSON.stringify(paymentBody({ trackingId })));
      await waitUntil(() => storedBy[0]!.size + storedBy[1]!.size >= trackingIds.length, "every entry is stored", 10_000);

      for (const trackingId of trackingIds) {
        const holders = await Promise.all(
          nodes.map(async (node) => (await node.get(`/v1/payments?trackingId=${trackingId}`)).body.payments.length as number),
        );
        assert.equal(holders[0]! + holders[1]!, 1, `${trackingId} is stored by exactly one node (${holders.join(", ")})`);
      }
      assert.deepEqual(new Set([...storedBy[0]!, ...storedBy[1]!]), new Set(trackingIds));
      assert.ok(storedBy[0]!.size > 0 && storedBy[1]!.size > 0, `both nodes took work (${storedBy[0]!.size} and ${storedBy[1]!.size})`);
      assert.equal(await pendingCount(stream), 0);
    } finally {
      await Promise.all(nodes.map((node) => node.close()));
    }
  });

  test("a node that stored a payment but died before XACK: another node claims the entry, and the store absorbs the second write", async () => {
    const stream = nextStream();
    const dataDir = mkdtempSync(join(tmpdir(), "tributary-queue-crash-"));
    const store = await openStore({ driver: "sqlite", path: join(dataDir, "store.sqlite") });
    let writesByFirstNode = 0;
    // Commits, then fails as a node would that dies right after its store write.
    const diesAfterCommit = wrapStore(
      store,
      async (payments) => {
        await store.append(payments);
        writesByFirstNode++;
        throw new Error("node died before acknowledging");
      },
      { ownsStore: false },
    );
    const first = await queueNode(stream, "node-dying", {}, diesAfterCommit);
    let second: TestServer | undefined;
    try {
      const signature = randomSignature();
      const id = (await client.xadd(
        stream,
        "*",
        "message",
        JSON.stringify(paymentRecordEvent({ memo: "crash-order", amount: "5", signature })),
      )) as string;
      await waitUntil(() => writesByFirstNode > 0, "the first node wrote the payment");
      const [row] = (await client.xpending(stream, GROUP, "-", "+", 10)) as Array<[string, string]>;
      assert.deepEqual(row?.slice(0, 2), [id, "node-dying"], "still pending to the first node");

      second = await queueNode(stream, "node-rescuer", { INGEST_REDIS_CLAIM_IDLE_MS: "200" }, wrapStore(store, (payments) => store.append(payments), { ownsStore: false }));
      const rescued = await nextEvent<{ ids: string[] }>(queueSource(second), "stored", 10_000);
      assert.deepEqual(rescued.ids, [id]);
      await waitUntil(async () => (await pendingCount(stream)) === 0, "the entry is acknowledged");

      const stored = await store.list({ trackingId: "crash-order", after: 0, limit: 10 });
      assert.deepEqual(stored.map((payment) => [payment.signature, payment.offset]), [[signature, 1]], "stored once");
      const metrics = await (await fetch(`${second.url}/metrics`)).text();
      assert.match(metrics, /^tributary_redis_stream_duplicates_total 1$/m, "the rescuer's write was absorbed as a duplicate");
      assert.match(metrics, /^tributary_redis_stream_consumed_total\{via="claim"\} 1$/m);
      // The first node notices the entry is no longer its own and stops retrying it.
      await waitUntil(() => queueSource(first).status().state === "live", "the first node is live again", 10_000);
    } finally {
      await Promise.all([first.close(), second?.close()]);
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
