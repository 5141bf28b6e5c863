import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Socket } from "socket.io-client";
import { paymentBody } from "../support/payments.js";
import { emitWithAck, startTestServer, type TestServer } from "../support/test-server.js";
import { collect, nextEvent } from "../support/wait.js";

let server: TestServer;
before(async () => {
  // Small pages, so every replay below crosses many page boundaries.
  server = await startTestServer({ REPLAY_PAGE_SIZE: "7", RECOVERY_WINDOW_MS: "0" });
});
after(() => server.close());

let counter = 0;
const uniqueId = (label: string) => `${label}-${++counter}-${process.pid}`;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function publishMany(trackingId: string, count: number): Promise<void> {
  for (let sent = 0; sent < count; sent += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - sent) }, () => paymentBody({ trackingId }));
    assert.equal((await server.publish(batch)).status, 200);
  }
}

function offsetsOf(socket: Socket) {
  return collect<any>(socket, "payment");
}

describe("subscribe with since", () => {
  test("replays every stored payment after since, in order, then continues live", async () => {
    const trackingId = uniqueId("replay");
    await publishMany(trackingId, 30);
    const socket = await server.connect();
    const payments = offsetsOf(socket);
    const ack = nextEvent<any>(socket, "ack");
    const response = await emitWithAck(socket, "subscribe", { trackingId, since: 10 });
    assert.deepEqual(response, { ok: true, trackingId, subscribed: true, latestOffset: 30 });
    const ackEvent = await ack;
    assert.equal(ackEvent.data, `Subscribed to trackingId: ${trackingId}`);
    assert.equal(ackEvent.latestOffset, 30);
    await payments.until(20);
    await server.publish(paymentBody({ trackingId }));
    const all = await payments.until(21);
    assert.deepEqual(
      all.map((m) => m.data.offset),
      range(11, 31),
    );
  });

  test("without since the behaviour is the spec's: live only", async () => {
    const trackingId = uniqueId("live-only");
    await publishMany(trackingId, 5);
    const socket = await server.connect();
    const payments = offsetsOf(socket);
    const response = await emitWithAck(socket, "subscribe", { trackingId });
    assert.equal(response.latestOffset, 5);
    await server.publish(paymentBody({ trackingId }));
    const [first] = await payments.until(1);
    assert.equal(first.data.offset, 6);
  });

  test("no gap and no duplicate while payments are published during the replay", async () => {
    const trackingId = uniqueId("race");
    await publishMany(trackingId, 500);
    const socket = await server.connect();
    const payments = offsetsOf(socket);
    // Publish single payments one after another for as long as the replay runs.
    const publishing = (async () => {
      for (let i = 0; i < 60; i++) await server.publish(paymentBody({ trackingId }));
    })();
    await emitWithAck(socket, "subscribe", { trackingId, since: 0 });
    await publishing;
    const all = await payments.until(560, 20_000);
    assert.deepEqual(
      all.map((m) => m.data.offset),
      range(1, 560),
    );
    // And live afterwards, still exactly once.
    await server.publish(paymentBody({ trackingId }));
    assert.deepEqual(
      (await payments.until(561)).map((m) => m.data.offset).slice(-2),
      [560, 561],
    );
  });

  test("a gap larger than any recovery window: a client that comes back later gets everything it missed", async () => {
    const trackingId = uniqueId("gap");
    const first = await server.connect();
    const seen = offsetsOf(first);
    await emitWithAck(first, "subscribe", { trackingId });
    await server.publish(paymentBody({ trackingId }));
    const [last] = await seen.until(1);
    first.disconnect();
    await publishMany(trackingId, 1200);

    const second = await server.connect();
    const payments = offsetsOf(second);
    await emitWithAck(second, "subscribe", { trackingId, since: last.data.offset });
    const all = await payments.until(1200, 20_000);
    assert.deepEqual(
      all.map((m) => m.data.offset),
      range(2, 1201),
    );
  });

  test("several tracking IDs on one client each replay from their own offset", async () => {
    const a = uniqueId("multi-a");
    const b = uniqueId("multi-b");
    await publishMany(a, 9);
    await publishMany(b, 4);
    const socket = await server.connect();
    const payments = offsetsOf(socket);
    await emitWithAck(socket, "subscribe", { trackingId: a, since: 6 });
    await emitWithAck(socket, "subscribe", { trackingId: b, since: 1 });
    const all = await payments.until(6);
    const of = (id: string) => all.filter((m) => m.data.trackingId === id).map((m) => m.data.offset);
    assert.deepEqual(of(a), [7, 8, 9]);
    assert.deepEqual(of(b), [2, 3, 4]);
  });

  test("subscribes sent together, from several sockets, each get their own tracking ID's head and every later payment once", async () => {
    const ids = Array.from({ length: 30 }, (_, i) => uniqueId(`together-${i}`));
    // Tracking ID i holds i payments, so a head answered for the wrong one shows.
    for (const [i, id] of ids.entries()) if (i > 0) await publishMany(id, i);
    const sockets = await Promise.all([server.connect(), server.connect(), server.connect()]);
    const payments = sockets.map(offsetsOf);
    // Nothing awaited between the emits: the service reads them in the same turns.
    const shares = sockets.map((socket, s) => ids.filter((_, i) => i % 3 === s));
    // The first tracking ID twice more, from the other sockets.
    shares[1]?.push(ids[0] ?? "");
    shares[2]?.push(ids[0] ?? "");
    const responses = await Promise.all(
      sockets.map((socket, s) => Promise.all((shares[s] ?? []).map((trackingId) => emitWithAck(socket, "subscribe", { trackingId })))),
    );
    for (const [s, share] of shares.entries()) {
      assert.deepEqual(
        responses[s]?.map((response) => [response.trackingId, response.latestOffset]),
        share.map((trackingId) => [trackingId, ids.indexOf(trackingId)]),
      );
    }
    assert.equal((await server.publish(ids.map((trackingId) => paymentBody({ trackingId })))).status, 200);
    for (const [s, share] of shares.entries()) {
      const received = await payments[s]!.until(share.length);
      assert.deepEqual(
        received.map((m) => [m.data.trackingId, m.data.offset]).sort(),
        share.map((trackingId) => [trackingId, ids.indexOf(trackingId) + 1]).sort(),
      );
    }
  });

  test("a since beyond the latest offset replays nothing and continues live", async () => {
    const trackingId = uniqueId("beyond");
    await publishMany(trackingId, 3);
    const socket = await server.connect();
    const payments = offsetsOf(socket);
    const response = await emitWithAck(socket, "subscribe", { trackingId, since: 50 });
    assert.equal(response.latestOffset, 3);
    await server.publish(paymentBody({ trackingId }));
    const [first] = await payments.until(1);
    assert.equal(first.data.offset, 4);
  });

  test("an invalid since is refused with INVALID_SINCE and subscribes nothing", async () => {
    const socket = await server.connect();
    for (const since of [-1, 1.5, "3", null, Number.MAX_SAFE_INTEGER + 2]) {
      const trackingId = uniqueId("bad-since");
      const error = nextEvent<any>(socket, "error");
      const response = await emitWithAck(socket, "subscribe", { trackingId, since });
      assert.equal(response.ok, false, String(since));
      assert.equal(response.error.code, "INVALID_SINCE");
      assert.equal((await error).data.code, "INVALID_SINCE");
    }
  });
});

describe("retention", () => {
  test("a since older than retention kept gets REPLAY_TRUNCATED and what is still there", async () => {
    const retained = await startTestServer({ RETENTION_MAX_PER_TRACKING_ID: "5", REPLAY_PAGE_SIZE: "2" });
    try {
      const trackingId = uniqueId("retention");
      const batch = Array.from({ length: 12 }, () => paymentBody({ trackingId }));
      await retained.publish(batch);
      assert.equal(await retained.app.retention.runOnce(), 7);
      const history = await retained.get(`/v1/payments?trackingId=${trackingId}`);
      assert.deepEqual(
        history.body.payments.map((p: any) => p.offset),
        [8, 9, 10, 11, 12],
      );

      const socket = await retained.connect();
      const payments = offsetsOf(socket);
      const error = nextEvent<any>(socket, "error");
      await emitWithAck(socket, "subscribe", { trackingId, since: 3 });
      const truncated = await error;
      assert.equal(truncated.data.code, "REPLAY_TRUNCATED");
      assert.match(truncated.data.message, /replaying from offset 8/);
      assert.equal(truncated.data.trackingId, trackingId);
      assert.equal(truncated.data.firstAvailableOffset, 8);
      assert.deepEqual(
        (await payments.until(5)).map((m) => m.data.offset),
        [8, 9, 10, 11, 12],
      );
      // Offsets continue after pruning: they never restart.
      const next = await retained.publish(paymentBody({ trackingId }));
      assert.equal(next.body.offset, 13);
    } finally {
      await retained.close();
    }
  });

  test("by age: payments received before the bound are deleted, the rest kept", async () => {
    let now = 1_000_000;
    const { openSqliteStore } = await import("../../src/store/sqlite-store.js");
    const store = openSqliteStore({ path: ":memory:", now: () => now });
    const make = (trackingId: string) => ({ ...paymentBody({ trackingId }), amount: 1n, status: "executed" as const, eventIndex: 0 });
    await store.append([make("age"), make("age")]);
    now = 2_000_000;
    await store.append([make("age")]);
    assert.equal(await store.prune({ receivedBefore: 1_500_000 }), 2);
    assert.deepEqual(
      (await store.list({ trackingId: "age", after: 0, limit: 10 })).map((p) => p.offset),
      [3],
    );
    await store.close();
  });
});
