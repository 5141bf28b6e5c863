import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { pino } from "pino";
import { Registry } from "prom-client";
import { ServiceError } from "../../src/errors.js";
import type { PaymentInput } from "../../src/payment.js";
import { RedisStreamSource, type RedisStreamSourceOptions } from "../../src/sources/redis-stream/redis-stream-source.js";
import { MemorySink } from "../support/memory-sink.js";
import { paymentBody } from "../support/payments.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";
import { paymentRecordEvent } from "../support/stream-messages.js";
import { collect, nextEvent, waitUntil } from "../support/wait.js";

let redis: RedisServer;
let client: Redis;
before(async () => {
  redis = await startRedisServer();
  client = new Redis(redis.url);
  // The restart test stops the server under this client too; it reconnects by itself.
  client.on("error", () => undefined);
});
after(async () => {
  client.disconnect();
  await redis.close();
});

let streams = 0;
const GROUP = "tributary-ws";

/** A sink that fails for chosen tracking IDs, as a store would for one payment it cannot take. */
class SelectiveSink extends MemorySink {
  readonly failFor = new Map<string, () => Error>();
  /** Calls with that tracking ID alone; a batch that holds it is split and retried one by one. */
  readonly attempts = new Map<string, number>();

  override async ingest(payments: readonly PaymentInput[]) {
    const [only] = payments;
    if (payments.length === 1 && only) this.attempts.set(only.trackingId, (this.attempts.get(only.trackingId) ?? 0) + 1);
    const failing = payments.find((payment) => this.failFor.has(payment.trackingId));
    if (failing) throw this.failFor.get(failing.trackingId)!();
    return super.ingest(payments);
  }
}

function startSource(sink: MemorySink, options: Partial<RedisStreamSourceOptions> = {}) {
  const source = new RedisStreamSource({
    url: redis.url,
    stream: `payments-${++streams}`,
    consumer: "node-1",
    sink,
    logger: pino({ level: "silent" }),
    registry: new Registry(),
    claimMinIdleMs: 30,
    blockMs: 200,
    statusIntervalMs: 0,
    retryBackoff: { baseDelayMs: 5, maxDelayMs: 20 },
    ...options,
  });
  return source;
}

const add = (stream: string, ...fields: string[]) => client.xadd(stream, "*", ...fields) as Promise<string>;
const pendingCount = async (stream: string) => Number(((await client.xpending(stream, GROUP)) as unknown[])[0]);

async function deadLetters(stream: string) {
  const entries = (await client.xrange(`${stream}:dead`, "-", "+")) as Array<[string, string[]]>;
  return entries.map(([, fields]) => {
    const record: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
    return record;
  });
}

describe("Redis stream source on a real redis-server", () => {
  test("malformed entries, a rejected payment and one that keeps failing go to <stream>:dead with their reason; the rest is stored", async () => {
    const sink = new SelectiveSink();
    sink.failFor.set("keeps-failing", () => new Error("this payment breaks the store"));
    sink.failFor.set("conflicting", () => new ServiceError("IDENTITY_CONFLICT"));
    const source = startSource(sink, { maxDeliveries: 2 });
    const stream = source.stream;
    const dead = collect<{ id: string; reason: string }>(source, "deadLettered");
    const skipped = collect<{ id: string; reason: string }>(source, "skipped");
    const ids = {
      notJson: await add(stream, "message", "{oops"),
      noField: await add(stream, "key", "k", "value", "v"),
      badAmount: await add(stream, "message", JSON.stringify(paymentRecordEvent({ memo: "m", amount: "-5" }))),
      first: await add(stream, "message", JSON.stringify(paymentBody({ trackingId: "good-1" }))),
      failing: await add(stream, "message", JSON.stringify(paymentBody({ trackingId: "keeps-failing" }))),
      conflicting: await add(stream, "payload", JSON.stringify(paymentBody({ trackingId: "conflicting" }))),
      emptyMemo: await add(stream, "message", JSON.stringify(paymentRecordEvent({ memo: [], amount: "1" }))),
      second: await add(stream, "message", JSON.stringify(paymentRecordEvent({ memo: "good-2", amount: "18446744073709551615" }))),
    };
    await source.start();
    try {
      await dead.until(5, 10_000);
      await sink.untilStored(2);
      const reasons = Object.fromEntries(dead.items.map((item) => [item.id, item.reason]));
      assert.deepEqual(reasons, {
        [ids.notJson]: "malformed",
        [ids.noField]: "malformed",
        [ids.badAmount]: "malformed",
        [ids.failing]: "max_deliveries",
        [ids.conflicting]: "rejected",
      });
      assert.deepEqual(skipped.items, [{ id: ids.emptyMemo, reason: "empty_memo" }]);
      assert.equal(sink.attempts.get("keeps-failing"), 2, "tried as often as maxDeliveries allows, then no more");
      assert.deepEqual([...sink.stored.values()].map((payment) => [payment.trackingId, payment.amount]), [
        ["good-1", 1_000_000n],
        ["good-2", 2n ** 64n - 1n],
      ]);

      const letters = await deadLetters(stream);
      const failing = letters.find((letter) => letter.original_id === ids.failing)!;
      assert.equal(failing.reason, "max_deliveries");
      assert.equal(failing.deliveries, "3");
      assert.match(failing["original.message"]!, /keeps-failing/);
      const notJson = letters.find((letter) => letter.original_id === ids.notJson)!;
      assert.match(notJson.detail!, /not JSON/);
      assert.equal(notJson["original.message"], "{oops");
      assert.match(letters.find((letter) => letter.original_id === ids.conflicting)!.detail!, /IDENTITY_CONFLICT/);
      assert.equal(await pendingCount(stream), 0, "every entry acknowledged");

      // The consumer keeps going after all that.
      await add(stream, "message", JSON.stringify(paymentBody({ trackingId: "good-3" })));
      await sink.untilStored(3);
    } finally {
      await source.stop();
    }
  });

  test("a store outage is not poison: the entry waits unacknowledged, is not dead-lettered, and is stored when the store is back", async () => {
    const sink = new SelectiveSink();
    sink.failFor.set("during-outage", () => new ServiceError("STORE_UNAVAILABLE"));
    const source = startSource(sink, { maxDeliveries: 1 });
    const failures = collect<{ kind: string }>(source, "failed");
    let deadLettered = 0;
    source.on("deadLettered", () => deadLettered++);
    await source.start();
    try {
      const id = await add(source.stream, "message", JSON.stringify(paymentBody({ trackingId: "during-outage" })));
      await failures.until(3);
      assert.ok(failures.items.every((failure) => failure.kind === "store_unavailable"));
      assert.equal(source.status().state, "reconnecting");
      const [row] = (await client.xpending(source.stream, GROUP, "-", "+", 10)) as Array<[string, string, number, number]>;
      assert.deepEqual([row?.[0], row?.[1], row?.[3]], [id, "node-1", 1], "pending to this consumer, delivered once");

      const stored = nextEvent<{ ids: string[] }>(source, "stored");
      sink.failFor.delete("during-outage");
      assert.deepEqual((await stored).ids, [id]);
      assert.equal(deadLettered, 0);
      assert.equal(await pendingCount(source.stream), 0);
      await waitUntil(() => source.status().state === "live", "the source is live again");
    } finally {
      await source.stop();
    }
  });

  test("stop() ends a blocking read at once and takes the idle consumer out of the group", async () => {
    const sink = new MemorySink();
    const source = startSource(sink, { blockMs: 60_000, claimMinIdleMs: 60_000 });
    await source.start();
    await add(source.stream, "message", JSON.stringify(paymentBody({ trackingId: "before-stop" })));
    await sink.untilStored(1);
    await waitUntil(async () => {
      const clients = String(await client.client("LIST"));
      return /name=tributary-ws:redis-stream:reader .*cmd=xreadgroup/.test(clients);
    }, "the reader blocks in XREADGROUP");
    const startedAt = Date.now();
    await source.stop();
    assert.ok(Date.now() - startedAt < 5_000, `stop took ${Date.now() - startedAt} ms with a 60 s block`);
    assert.equal(source.status().state, "stopped");
    const consumers = (await client.xinfo("CONSUMERS", source.stream, GROUP)) as unknown[];
    assert.equal(consumers.length, 0);
  });

  test("Redis restarting empty: the source reports reconnecting, recreates its group and goes on", async () => {
    const sink = new MemorySink();
    const source = startSource(sink);
    await source.start();
    try {
      await add(source.stream, "message", JSON.stringify(paymentBody({ trackingId: "before-restart" })));
      await sink.untilStored(1);
      const reconnecting = new Promise<void>((resolve) => {
        source.on("state", (state) => {
          if (state === "reconnecting") resolve();
        });
      });
      await redis.stop();
      await reconnecting;
      await redis.start();
      await waitUntil(() => source.status().state === "live", "the source is live again", 10_000);
      await add(source.stream, "message", JSON.stringify(paymentBody({ trackingId: "after-restart" })));
      await sink.until((memory) => [...memory.stored.values()].some((payment) => payment.trackingId === "after-restart"));
      assert.equal(sink.stored.size, 2);
    } finally {
      await source.stop();
    }
  });
});
