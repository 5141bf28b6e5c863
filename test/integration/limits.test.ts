import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { io, type Socket } from "socket.io-client";
import { metricValue } from "../support/metrics.js";
import { paymentBody } from "../support/payments.js";
import { rawConnect, rawEmit } from "../support/raw-client.js";
import { emitWithAck, startTestServer, TEST_API_KEY, type TestServer } from "../support/test-server.js";
import { collect, nextEvent, waitUntil } from "../support/wait.js";

/** Connects a stock client without retries; resolves "connected" or "refused". */
async function tryConnect(server: TestServer, headers: Record<string, string> = {}): Promise<{ outcome: "connected" | "refused"; socket: Socket }> {
  const socket = io(server.url, { path: "/ws/v1", transports: ["websocket"], forceNew: true, reconnection: false, extraHeaders: headers });
  const outcome = await new Promise<"connected" | "refused">((resolve) => {
    socket.once("connect", () => resolve("connected"));
    socket.once("connect_error", () => resolve("refused"));
  });
  return { outcome, socket };
}

describe("connections per address", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ MAX_CONNECTIONS_PER_IP: "3", MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND: "0" });
  });
  after(() => server.close());

  test("the fourth open connection of one address is refused; closing one frees a place", async () => {
    const open = [];
    for (let i = 0; i < 3; i++) {
      const attempt = await tryConnect(server);
      assert.equal(attempt.outcome, "connected");
      open.push(attempt.socket);
    }
    const refused = await tryConnect(server);
    assert.equal(refused.outcome, "refused");
    assert.ok((await metricValue(server.app.metrics.limited, { limit: "connections_per_ip" })) >= 1);

    open[0]!.disconnect();
    await waitUntil(() => server.app.gateway.connectionCount === 2, "the server saw the client leave");
    const again = await tryConnect(server);
    assert.equal(again.outcome, "connected");
    for (const socket of [...open, again.socket]) socket.disconnect();
    await waitUntil(() => server.app.gateway.stats.addresses === 0, "no address is tracked any more");
  });
});

describe("new connections per second per address", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND: "3" });
  });
  after(() => server.close());

  test("a burst of 12 handshakes gets the bucket's 3 (plus its refill) and the rest refused", async () => {
    const startedAt = performance.now();
    const attempts = await Promise.all(Array.from({ length: 12 }, () => tryConnect(server)));
    const elapsedSeconds = (performance.now() - startedAt) / 1000;
    const connected = attempts.filter((attempt) => attempt.outcome === "connected").length;
    assert.ok(connected >= 3, `at least the burst connects (${connected})`);
    assert.ok(connected <= 3 + Math.ceil(elapsedSeconds * 3), `no more than burst plus refill (${connected} in ${elapsedSeconds} s)`);
    assert.equal(await metricValue(server.app.metrics.limited, { limit: "connection_rate_per_ip" }), 12 - connected);
    for (const attempt of attempts) attempt.socket.disconnect();
  });
});

describe("X-Forwarded-For", () => {
  test("is believed from a trusted proxy: each forwarded client has its own limit", async () => {
    const server = await startTestServer({ MAX_CONNECTIONS_PER_IP: "1", TRUSTED_PROXIES: "127.0.0.0/8,::1" });
    try {
      const first = await tryConnect(server, { "x-forwarded-for": "203.0.113.1" });
      const second = await tryConnect(server, { "x-forwarded-for": "198.51.100.7, 203.0.113.2" });
      const third = await tryConnect(server, { "x-forwarded-for": "203.0.113.1" });
      assert.deepEqual([first.outcome, second.outcome, third.outcome], ["connected", "connected", "refused"]);
      for (const attempt of [first, second, third]) attempt.socket.disconnect();
    } finally {
      await server.close();
    }
  });

  test("is ignored from anyone else: a client cannot pick its own address", async () => {
    const server = await startTestServer({ MAX_CONNECTIONS_PER_IP: "1" });
    try {
      const first = await tryConnect(server, { "x-forwarded-for": "203.0.113.1" });
      const second = await tryConnect(server, { "x-forwarded-for": "203.0.113.2" });
      assert.deepEqual([first.outcome, second.outcome], ["connected", "refused"]);
      for (const attempt of [first, second]) attempt.socket.disconnect();
    } finally {
      await server.close();
    }
  });
});

describe("events per socket", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ SOCKET_EVENTS_PER_SECOND: "1", SOCKET_EVENTS_BURST: "5", SOCKET_RATE_LIMIT_STRIKES: "3" });
  });
  after(() => server.close());

  test("a burst over the bucket gets RATE_LIMITED; the connection stays for a while", async () => {
    const socket = await server.connect();
    const responses = await Promise.all(Array.from({ length: 7 }, (_, i) => emitWithAck(socket, "subscribe", { trackingId: `burst-${i}` })));
    const refused = responses.filter((response) => !response.ok);
    assert.ok(responses.slice(0, 5).every((response) => response.ok), "the burst itself is served");
    assert.ok(refused.length >= 1, "past the burst, events are refused");
    for (const response of refused) {
      assert.equal(response.error.code, "RATE_LIMITED");
      assert.match(response.error.message, /limit 1 per second/);
    }
    assert.equal(socket.connected, true);
  });

  test("a client that keeps flooding gets CONNECTION_ERROR, then is disconnected by the server", async () => {
    const socket = await server.connect({ reconnection: false });
    const errors = collect<any>(socket, "error");
    const disconnected = nextEvent<string>(socket, "disconnect");
    // Unknown events count too: the bucket guards the server's work, not the API's surface.
    for (let i = 0; i < 20; i++) socket.emit("anything", i);
    assert.equal(await disconnected, "io server disconnect");
    const codes = errors.items.map((message) => message.data.code);
    assert.ok(codes.includes("RATE_LIMITED"));
    assert.equal(codes.at(-1), "CONNECTION_ERROR");
    assert.equal(await metricValue(server.app.metrics.limited, { limit: "socket_events_disconnect" }), 1);
  });
});

describe("subscriptions per node", () => {
  test("past the node's total, subscribe is refused with SUBSCRIPTION_LIMIT; leaving frees places", async () => {
    const server = await startTestServer({ MAX_SUBSCRIPTIONS_PER_NODE: "3" });
    try {
      const a = await server.connect();
      const b = await server.connect();
      assert.equal((await emitWithAck(a, "subscribe", { trackingId: "node-1" })).ok, true);
      assert.equal((await emitWithAck(a, "subscribe", { trackingId: "node-2" })).ok, true);
      assert.equal((await emitWithAck(b, "subscribe", { trackingId: "node-1" })).ok, true);
      const refused = await emitWithAck(b, "subscribe", { trackingId: "node-3" });
      assert.equal(refused.error.code, "SUBSCRIPTION_LIMIT");
      assert.match(refused.error.message, /on this node \(limit 3\)/);
      // Subscribing again to what one already holds takes no new place.
      assert.equal((await emitWithAck(b, "subscribe", { trackingId: "node-1" })).ok, true);
      await emitWithAck(a, "unsubscribe", { trackingId: "node-2" });
      assert.equal((await emitWithAck(b, "subscribe", { trackingId: "node-3" })).ok, true);
      a.disconnect();
      await waitUntil(() => server.app.gateway.stats.subscriptions === 2, "a's subscription is released");
      assert.equal((await emitWithAck(b, "subscribe", { trackingId: "node-4" })).ok, true);
      assert.equal(await metricValue(server.app.metrics.limited, { limit: "subscriptions_per_node" }), 1);
    } finally {
      await server.close();
    }
  });
});

describe("publish rate per API key", () => {
  test("past the key's rate, 429 RATE_LIMITED and nothing stored; another key has its own budget", async () => {
    const server = await startTestServer({ PUBLISH_RATE_PER_SECOND: "3", TRIBUTARY_API_KEYS: `${TEST_API_KEY},second-key-0123456789` });
    try {
      const results = await Promise.all(Array.from({ length: 10 }, () => server.publish(paymentBody({ trackingId: "rate-1" }))));
      const limited = results.filter((result) => result.status === 429);
      const stored = results.filter((result) => result.status === 200);
      // Two fixed windows at most can be touched: 3 + 3.
      assert.ok(limited.length >= 4, `${limited.length} refused`);
      for (const result of limited) {
        assert.deepEqual(Object.keys(result.body), ["error"]);
        assert.equal(result.body.error.code, "RATE_LIMITED");
        assert.equal(result.body.error.stack, undefined);
      }
      assert.equal(await metricValue(server.app.metrics.paymentsIngested, { source: "http" }), stored.length);
      assert.equal((await server.get("/v1/payments?trackingId=rate-1")).body.payments.length, stored.length);
      const other = await server.publish(paymentBody({ trackingId: "rate-1" }), { authorization: "Bearer second-key-0123456789" });
      assert.equal(other.status, 200);
      assert.equal(await metricValue(server.app.metrics.limited, { limit: "publish_rate" }), limited.length);
    } finally {
      await server.close();
    }
  });

  test("requests with a wrong key are limited by address, so random keys buy no budget", async () => {
    const server = await startTestServer({ PUBLISH_RATE_PER_SECOND: "2" });
    try {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => server.publish(paymentBody({ trackingId: "rate-2" }), { authorization: `Bearer guess-${i}` })),
      );
      const statuses = results.map((result) => result.status);
      assert.ok(statuses.filter((status) => status === 429).length >= 4, statuses.join(","));
      assert.ok(statuses.every((status) => status === 401 || status === 429), statuses.join(","));
    } finally {
      await server.close();
    }
  });
});

describe("slow consumers", () => {
  test("a client that stops reading is dropped past its buffer cap; others keep receiving; replay recovers it all", async () => {
    const server = await startTestServer({ MAX_BUFFERED_BYTES_PER_SOCKET: String(64 * 1024) });
    try {
      const trackingId = "slow-1";
      const bystander = await server.connect();
      await emitWithAck(bystander, "subscribe", { trackingId });
      const received = collect<any>(bystander, "payment");

      const slow = await rawConnect(server.url);
      rawEmit(slow, "subscribe", { trackingId });
      await slow.waitFor((frame) => frame.startsWith('42["ack"'));
      // Stop reading: the kernel buffers fill, then the server's. A paused client
      // would not notice its own close either, so the server's count is watched.
      slow.ws.pause();
      const droppedCount = () => metricValue(server.app.metrics.limited, { limit: "slow_consumer" });

      let published = 0;
      const batch = 50;
      for (let round = 0; round < 2000 && (await droppedCount()) === 0; round++) {
        const { status } = await server.publish(Array.from({ length: batch }, () => paymentBody({ trackingId })));
        assert.equal(status, 200);
        published += batch;
        await received.until(published, 10_000);
      }
      assert.equal(await droppedCount(), 1, `dropped after ${published} payments`);
      await waitUntil(() => server.app.gateway.stats.sockets === 1, "only the bystander is left");
      const memory = process.memoryUsage();
      console.log(
        `slow consumer dropped after ${published} payments of ~${JSON.stringify(received.items[0]).length} bytes; ` +
          `heap ${(memory.heapUsed / 2 ** 20).toFixed(1)} MiB`,
      );

      // The bystander got every payment, in order, and the store has them all for the dropped one.
      assert.deepEqual(
        received.items.map((message) => message.data.offset),
        Array.from({ length: published }, (_, i) => i + 1),
      );
      const catchingUp = await server.connect();
      const replayed = collect<any>(catchingUp, "payment");
      await emitWithAck(catchingUp, "subscribe", { trackingId, since: 0 });
      const all = await replayed.until(published, 20_000);
      assert.equal(all.at(-1).data.offset, published);
    } finally {
      await server.close();
    }
  });
});

describe("metrics readings", () => {
  test("/metrics and /v1/stats answer from one reading for METRICS_CACHE_MS, so a flood of them costs one reading", async () => {
    const server = await startTestServer({ METRICS_CACHE_MS: "60000" });
    try {
      const stats = async () => ((await (await fetch(`${server.url}/v1/stats`)).json()) as { connections: number }).connections;
      assert.equal(await stats(), 0);
      await server.connect();
      // Counted at once (the live figure), but the answers keep the reading they share.
      assert.equal(await metricValue(server.app.metrics.connections), 1);
      assert.equal(await stats(), 0);
      assert.match(await (await fetch(`${server.url}/metrics`)).text(), /^tributary_connections 0$/m);
    } finally {
      await server.close();
    }
  });
});
