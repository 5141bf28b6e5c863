import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { io, type Socket } from "socket.io-client";
import { paymentBody } from "../support/payments.js";
import { startPostgresServer, type PostgresServer } from "../support/postgres-server.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";
import { startServerProcess } from "../support/server-process.js";
import { emitWithAck, startTestServer, TEST_API_KEY, type TestServer } from "../support/test-server.js";
import { collect, nextEvent, waitUntil } from "../support/wait.js";

let redis: RedisServer;
let postgres: PostgresServer;
before(async () => {
  [redis, postgres] = await Promise.all([startRedisServer(), startPostgresServer()]);
});
after(async () => {
  await Promise.all([redis?.close(), postgres?.close()]);
});

let databases = 0;
async function startNodes(count: number): Promise<TestServer[]> {
  const DATABASE_URL = await postgres.createDatabase(`cluster_${++databases}`);
  const nodes: TestServer[] = [];
  for (let i = 0; i < count; i++) nodes.push(await startTestServer({ DATABASE_URL, REDIS_URL: redis.url }));
  await Promise.all(nodes.map((node) => waitUntil(async () => (await node.get("/v1/health")).body.cluster.state === "connected", "the node joined the cluster")));
  return nodes;
}

async function subscriber(node: TestServer, trackingId: string, since?: number) {
  const socket = await node.connect();
  const payments = collect<any>(socket, "payment");
  await emitWithAck(socket, "subscribe", since === undefined ? { trackingId } : { trackingId, since });
  return { socket, payments };
}

const offsets = (messages: any[]) => messages.map((m) => m.data.offset);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("several nodes on Redis and PostgreSQL", () => {
  test("what a node sends its own sockets (acks, replays) stays off Redis; only committed payments cross", async () => {
    const [a, b] = await startNodes(2);
    const watcher = new Redis(redis.url);
    try {
      const seen: string[] = [];
      watcher.on("pmessageBuffer", (_pattern: Buffer, channel: Buffer) => seen.push(channel.toString()));
      await watcher.psubscribe("tributary#*", "tributary-request#*");
      const clients = await Promise.all(Array.from({ length: 5 }, () => subscriber(a!, "stays-local")));
      await a!.publish(paymentBody({ trackingId: "stays-local" }));
      const late = await subscriber(a!, "stays-local", 0);
      await late.payments.until(1);
      // The payment's hand-off to node B goes out after every ack and replay above, on the same Redis connection.
      await a!.publish(paymentBody({ trackingId: "stays-local" }));
      await waitUntil(() => seen.filter((channel) => channel.startsWith("tributary-request#")).length >= 2, "both payments reached Redis");
      assert.deepEqual(seen.filter((channel) => channel.startsWith("tributary#")), [], "acks and replayed payments were published to the cluster");
      for (const { socket } of [...clients, late]) socket.close();
    } finally {
      watcher.disconnect();
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  test("a payment published on either node reaches subscribers on both", async () => {
    const [a, b] = await startNodes(2);
    try {
      const onA = await subscriber(a!, "both-ways");
      const onB = await subscriber(b!, "both-ways");
      await a!.publish(paymentBody({ trackingId: "both-ways" }));
      await b!.publish(paymentBody({ trackingId: "both-ways" }));
      assert.deepEqual(offsets(await onA.payments.until(2)), [1, 2]);
      assert.deepEqual(offsets(await onB.payments.until(2)), [1, 2]);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  test("concurrent ingest of one tracking ID on two nodes: offsets gap-free, every payment delivered once and in order everywhere", async () => {
    const [a, b] = await startNodes(2);
    try {
      const onA = await subscriber(a!, "contended");
      const onB = await subscriber(b!, "contended");
      const perNode = 60;
      const publishAll = (node: TestServer) =>
        Promise.all(Array.from({ length: perNode }, () => node.publish(paymentBody({ trackingId: "contended" }))));
      const results = (await Promise.all([publishAll(a!), publishAll(b!)])).flat();
      assert.ok(results.every((r) => r.status === 200));
      assert.deepEqual(
        results.map((r) => r.body.offset).sort((x, y) => x - y),
        range(1, 2 * perNode),
      );
      for (const side of [onA, onB]) {
        const received = await side.payments.until(2 * perNode, 15_000);
        assert.deepEqual(offsets(received), range(1, 2 * perNode));
      }
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  test("Redis stops: each node still serves its own clients and reports degraded; when Redis returns, the other node catches up", async () => {
    const [a, b] = await startNodes(2);
    try {
      const onA = await subscriber(a!, "redis-outage");
      const onB = await subscriber(b!, "redis-outage");
      await a!.publish(paymentBody({ trackingId: "redis-outage" }));
      await onB.payments.until(1);

      await redis.stop();
      await waitUntil(async () => (await a!.get("/v1/health")).body.status === "degraded", "node A reports degraded");
      const health = await b!.get("/v1/health");
      assert.equal(health.status, 200, "a degraded node still serves");
      const during = paymentBody({ trackingId: "redis-outage" });
      assert.equal((await a!.publish(during)).status, 200);
      assert.deepEqual(offsets(await onA.payments.until(2)), [1, 2]);

      await redis.start();
      // Node B never got the message; it reads the gap from the store on reconnect.
      const [, second] = await onB.payments.until(2, 15_000);
      assert.equal(second.data.signature, during.signature);
      await waitUntil(async () => (await a!.get("/v1/health")).body.status === "ok", "node A is ok again", 10_000);
      await b!.publish(paymentBody({ trackingId: "redis-outage" }));
      assert.deepEqual(offsets(await onA.payments.until(3)), [1, 2, 3]);
      assert.deepEqual(offsets(await onB.payments.until(3)), [1, 2, 3]);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  test("a node killed with SIGKILL: its clients move to another node and, replaying by offset, lose nothing", async () => {
    const DATABASE_URL = await postgres.createDatabase(`cluster_${++databases}`);
    const env = { DATABASE_URL, REDIS_URL: redis.url, TRIBUTARY_API_KEYS: TEST_API_KEY };
    const victim = await startServerProcess(env);
    const survivor = await startServerProcess(env);
    const sockets: Socket[] = [];
    const publish = (url: string, body: unknown) =>
      fetch(`${url}/v1/payments`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TEST_API_KEY}` },
        body: JSON.stringify(body),
      });
    try {
      const first = io(victim.url, { path: "/ws/v1", transports: ["websocket"], reconnection: false });
      sockets.push(first);
      const seen = collect<any>(first, "payment");
      await nextEvent(first, "connect");
      await first.timeout(5000).emitWithAck("subscribe", { trackingId: "killed" });
      await publish(survivor.url, paymentBody({ trackingId: "killed" }));
      await publish(victim.url, paymentBody({ trackingId: "killed" }));
      await seen.until(2);

      const dropped = nextEvent(first, "disconnect");
      victim.child.kill("SIGKILL");
      await dropped;
      assert.equal(await victim.exited, "SIGKILL");
      for (let i = 0; i < 5; i++) assert.equal((await publish(survivor.url, paymentBody({ trackingId: "killed" }))).status, 200);

      // What a load balancer does: the client's next connection lands on a live node.
      const moved = io(survivor.url, { path: "/ws/v1", transports: ["websocket"] });
      sockets.push(moved);
      const after = collect<any>(moved, "payment");
      await nextEvent(moved, "connect");
      const last = seen.items.at(-1).data.offset as number;
      await moved.timeout(5000).emitWithAck("subscribe", { trackingId: "killed", since: last });
      await publish(survivor.url, paymentBody({ trackingId: "killed" }));
      const rest = await after.until(6);
      assert.deepEqual([...offsets(seen.items), ...offsets(rest)], range(1, 8));
    } finally {
      for (const socket of sockets) socket.close();
      victim.child.kill("SIGKILL");
      survivor.child.kill("SIGTERM");
      await survivor.exited;
    }
  });
});
