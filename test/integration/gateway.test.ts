import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { after, before, describe, test } from "node:test";
import type { Socket } from "socket.io-client";
import { paymentBody } from "../support/payments.js";
import { emitWithAck, startTestServer, type TestServer } from "../support/test-server.js";
import { collect, nextEvent } from "../support/wait.js";

const INVALID_TRACKING_ID = {
  code: "INVALID_TRACKING_ID",
  message: "Tracking ID is required and must be a string",
};

let server: TestServer;
before(async () => {
  server = await startTestServer({ MAX_SUBSCRIPTIONS_PER_SOCKET: "3" });
});
after(() => server.close());

let counter = 0;
const uniqueId = (label: string) => `${label}-${++counter}-${process.pid}`;

async function subscribe(socket: Socket, trackingId: string): Promise<any> {
  const ack = nextEvent<any>(socket, "ack");
  socket.emit("subscribe", { trackingId });
  return ack;
}

/** A stock client that does not reconnect by itself, subscribed to a new tracking ID and holding its first payment. */
async function subscribedWithOnePayment(on: TestServer, label: string) {
  const socket = await on.connect({ reconnection: false });
  const trackingId = uniqueId(label);
  await subscribe(socket, trackingId);
  const payments = collect<any>(socket, "payment");
  await on.publish(paymentBody({ trackingId }));
  await payments.until(1);
  return { socket, trackingId, payments };
}

/** Closes the client's transport without a Socket.IO disconnect (a network drop) and waits until the server has seen it. */
async function dropTransport(on: TestServer, socket: Socket): Promise<void> {
  const serverSocket = on.app.gateway.io.sockets.sockets.get(socket.id!);
  assert.ok(serverSocket);
  const serverSawDrop = nextEvent(serverSocket, "disconnect");
  socket.io.engine.close();
  await serverSawDrop;
}

function assertEnvelopeTimestamp(message: any): void {
  assert.equal(typeof message.timestamp, "number");
  assert.ok(Math.abs(message.timestamp - Date.now()) < 60_000, "envelope timestamp is server time in ms");
}

describe("transports", () => {
  test("websocket: subscribe acks with the spec's text and a payment arrives", async () => {
    const socket = await server.connect({ transports: ["websocket"] });
    const trackingId = uniqueId("ws");
    const ack = await subscribe(socket, trackingId);
    // The spec's three fields, plus latestOffset beside them (for replay).
    assert.deepEqual(Object.keys(ack).sort(), ["data", "latestOffset", "timestamp", "type"]);
    assert.equal(ack.latestOffset, 0);
    assert.equal(ack.type, "ack");
    assert.equal(ack.data, `Subscribed to trackingId: ${trackingId}`);
    assertEnvelopeTimestamp(ack);

    const payment = nextEvent<any>(socket, "payment");
    const body = paymentBody({ trackingId, amount: "1000000", timestamp: 1699876543 });
    assert.equal((await server.publish(body)).status, 200);
    const message = await payment;
    assert.equal(message.type, "payment_notification");
    assertEnvelopeTimestamp(message);
    assert.deepEqual(
      { ...message.data, id: undefined },
      {
        trackingId,
        amount: 1000000,
        amountRaw: "1000000",
        timestamp: 1699876543,
        status: "executed",
        signature: body.signature,
        id: undefined,
        offset: 1,
        eventIndex: 0,
      },
    );
    assert.equal(message.data.id, `${body.signature}:0`);
  });

  test("default transports (the spec's Cleanup example): long-polling first, then upgrade, delivering throughout", async () => {
    const socket = await server.connect({ transports: undefined });
    const engine = socket.io.engine;
    const upgraded = engine.transport.name === "websocket" ? Promise.resolve() : nextEvent(engine, "upgrade");
    const trackingId = uniqueId("polling");
    const ack = await subscribe(socket, trackingId);
    assert.equal(ack.data, `Subscribed to trackingId: ${trackingId}`);

    const payments = collect<any>(socket, "payment");
    await server.publish(paymentBody({ trackingId }));
    await payments.until(1);
    await upgraded;
    assert.equal(engine.transport.name, "websocket");
    await server.publish(paymentBody({ trackingId }));
    const received = await payments.until(2);
    assert.deepEqual(
      received.map((m) => m.data.offset),
      [1, 2],
    );
  });

  test("the HTTP request a connection was opened with, and its headers in the handshake, are let go once connected, over websocket and after an upgrade", async () => {
    // What keeps the upgrade request alive: Engine.IO's connection view, and a `once("close")` on the TCP socket.
    const held = (socket: Socket) => {
      const conn = server.app.gateway.io.sockets.sockets.get(socket.id ?? "")?.conn as any;
      assert.ok(conn, "the server knows the socket");
      const tcp = conn.transport.socket?._socket;
      const onceListeners = tcp?.rawListeners("close").filter((listener: any) => typeof listener.listener === "function");
      const { headers, query, url } = server.app.gateway.io.sockets.sockets.get(socket.id ?? "")?.handshake ?? {};
      return { request: conn.request, transport: conn.transport.name, onceListeners: onceListeners?.length, headers, query, url };
    };
    const released = { request: null, transport: "websocket", onceListeners: 0, headers: {}, query: {}, url: "" };
    const direct = await server.connect({ transports: ["websocket"] });
    await subscribe(direct, uniqueId("released-ws"));
    assert.deepEqual(held(direct), released);

    const upgrading = await server.connect({ transports: undefined });
    const engine = upgrading.io.engine;
    if (engine.transport.name !== "websocket") await nextEvent(engine, "upgrade");
    // The ack comes over the new transport, after the server took the upgrade packet sent before it.
    await subscribe(upgrading, uniqueId("released-upgrade"));
    assert.deepEqual(held(upgrading), released);
  });

  test("a new WebSocket client's 101 and Engine.IO open packet leave the server in one write", async () => {
    // Every write the server makes on the upgraded TCP socket, with whether it was corked at the time.
    const writes: Array<{ text: string; corked: boolean }> = [];
    const spy = (_headers: unknown, request: IncomingMessage) => {
      if (request.headers.upgrade === undefined) return;
      const tcp = request.socket;
      const write = tcp.write.bind(tcp) as (...args: unknown[]) => boolean;
      tcp.write = ((...args: unknown[]) => {
        writes.push({ text: String(args[0]).slice(0, 12), corked: tcp.writableCorked > 0 });
        return write(...args);
      }) as typeof tcp.write;
    };
    server.app.gateway.io.engine.on("headers", spy);
    try {
      const socket = await server.connect({ transports: ["websocket"] });
      await subscribe(socket, uniqueId("one-write"));
    } finally {
      server.app.gateway.io.engine.off("headers", spy);
    }
    const upgrade = writes.findIndex((w) => w.text.startsWith("HTTP/1.1 101"));
    const open = writes.findIndex((w) => w.text.includes('0{"sid"'));
    assert.ok(upgrade >= 0 && open > upgrade, `the 101, then the open packet: ${JSON.stringify(writes)}`);
    // Corked from the 101 through the open packet: one writev when the cork comes off.
    assert.deepEqual(
      writes.slice(upgrade, open + 1).map((w) => w.corked),
      writes.slice(upgrade, open + 1).map(() => true),
    );
  });

  test("polling only works end to end", async () => {
    const socket = await server.connect({ transports: ["polling"] });
    assert.equal(socket.io.engine.transport.name, "polling");
    const trackingId = uniqueId("polling-only");
    await subscribe(socket, trackingId);
    const payment = nextEvent<any>(socket, "payment");
    await server.publish(paymentBody({ trackingId }));
    assert.equal((await payment).data.trackingId, trackingId);
  });
});

describe("subscribe and unsubscribe", () => {
  const invalidPayloads: Array<[string, unknown[]]> = [
    ["no payload", []],
    ["null", [null]],
    ["a number", [42]],
    ["a string instead of an object", ["abc"]],
    ["an array", [["abc"]]],
    ["an object without trackingId", [{}]],
    ["a numeric trackingId", [{ trackingId: 7 }]],
    ["an array trackingId", [{ trackingId: ["a"] }]],
    ["an empty string", [{ trackingId: "" }]],
    ["65 bytes", [{ trackingId: "x".repeat(65) }]],
    ["64 bytes of multi-byte characters plus one", [{ trackingId: "é".repeat(32) + "x" }]],
    ["a NUL character", [{ trackingId: "abc\u0000" }]],
    ["a control character", [{ trackingId: "a\nb" }]],
  ];

  for (const event of ["subscribe", "unsubscribe"]) {
    for (const [label, args] of invalidPayloads) {
      test(`${event} with ${label} gets INVALID_TRACKING_ID and stays connected`, async () => {
        const socket = await server.connect();
        const error = nextEvent<any>(socket, "error");
        socket.emit(event, ...args);
        const message = await error;
        assert.deepEqual(Object.keys(message).sort(), ["data", "timestamp", "type"]);
        assert.equal(message.type, "error");
        assert.deepEqual(message.data, INVALID_TRACKING_ID);
        assertEnvelopeTimestamp(message);
        // Still connected and still serving: a valid subscribe after the error works.
        const trackingId = uniqueId("after-error");
        assert.equal((await subscribe(socket, trackingId)).data, `Subscribed to trackingId: ${trackingId}`);
        assert.equal(socket.connected, true);
      });
    }
  }

  test("64 bytes exactly, multi-byte characters included, is a valid tracking ID", async () => {
    const socket = await server.connect();
    const trackingId = "é".repeat(32);
    assert.equal(Buffer.byteLength(trackingId), 64);
    assert.equal((await subscribe(socket, trackingId)).data, `Subscribed to trackingId: ${trackingId}`);
  });

  test("acknowledgement callbacks answer ok or the error, and the events are still sent", async () => {
    const socket = await server.connect();
    const trackingId = uniqueId("callback");
    const ackEvent = nextEvent<any>(socket, "ack");
    const response = await emitWithAck(socket, "subscribe", { trackingId });
    assert.equal(response.ok, true);
    assert.equal(response.trackingId, trackingId);
    assert.equal((await ackEvent).data, `Subscribed to trackingId: ${trackingId}`);

    const errorEvent = nextEvent<any>(socket, "error");
    const refused = await emitWithAck(socket, "subscribe", { trackingId: "" });
    assert.deepEqual(refused, { ok: false, error: INVALID_TRACKING_ID });
    assert.deepEqual((await errorEvent).data, INVALID_TRACKING_ID);

    const missing = await emitWithAck(socket, "subscribe");
    assert.deepEqual(missing, { ok: false, error: INVALID_TRACKING_ID });

    const unsubscribeAck = nextEvent<any>(socket, "ack");
    const left = await emitWithAck(socket, "unsubscribe", { trackingId });
    assert.equal(left.ok, true);
    assert.equal((await unsubscribeAck).data, `Unsubscribed from trackingId: ${trackingId}`);
  });

  test("a payment goes only to its own tracking ID's room", async () => {
    const mine = await server.connect();
    const other = await server.connect();
    const trackingId = uniqueId("mine");
    const otherId = uniqueId("other");
    await subscribe(mine, trackingId);
    await subscribe(other, otherId);
    const otherPayments = collect<any>(other, "payment");
    const minePayments = collect<any>(mine, "payment");

    await server.publish(paymentBody({ trackingId }));
    await minePayments.until(1);
    // A payment for `other` published afterwards arrives first on that socket
    // only if the earlier one never came to it: emits keep their order.
    await server.publish(paymentBody({ trackingId: otherId }));
    const [first] = await otherPayments.until(1);
    assert.equal(first.data.trackingId, otherId);
    assert.equal(otherPayments.items.length, 1);
    assert.equal(minePayments.items.length, 1);
  });

  test("fan-out: every socket in the room receives the payment", async () => {
    const trackingId = uniqueId("fanout");
    const sockets = await Promise.all(Array.from({ length: 5 }, () => server.connect()));
    await Promise.all(sockets.map((socket) => subscribe(socket, trackingId)));
    const received = sockets.map((socket) => nextEvent<any>(socket, "payment"));
    const body = paymentBody({ trackingId });
    await server.publish(body);
    for (const message of await Promise.all(received)) assert.equal(message.data.signature, body.signature);
  });

  test("one socket holds several subscriptions and receives each tracking ID's payments", async () => {
    const socket = await server.connect();
    const ids = [uniqueId("multi-a"), uniqueId("multi-b"), uniqueId("multi-c")];
    for (const id of ids) await subscribe(socket, id);
    const payments = collect<any>(socket, "payment");
    for (const id of ids) await server.publish(paymentBody({ trackingId: id }));
    const received = await payments.until(3);
    assert.deepEqual(
      received.map((m) => m.data.trackingId),
      ids,
    );
  });

  test("unsubscribe stops delivery for that tracking ID only", async () => {
    const socket = await server.connect();
    const left = uniqueId("left");
    const kept = uniqueId("kept");
    await subscribe(socket, left);
    await subscribe(socket, kept);
    const ack = nextEvent<any>(socket, "ack");
    socket.emit("unsubscribe", { trackingId: left });
    assert.deepEqual(Object.keys(await ack).sort(), ["data", "timestamp", "type"]);
    const payments = collect<any>(socket, "payment");
    await server.publish(paymentBody({ trackingId: left }));
    await server.publish(paymentBody({ trackingId: kept }));
    const [first] = await payments.until(1);
    assert.equal(first.data.trackingId, kept);
    assert.equal(payments.items.length, 1);
  });

  test("subscribes and unsubscribes sent back to back take effect in the order sent, acks included", async () => {
    const socket = await server.connect();
    const left = uniqueId("left-at-once");
    const back = uniqueId("back-at-once");
    const acks = collect<any>(socket, "ack");
    // Nothing awaited in between: the frames reach the service together, while the subscribes still read the store.
    socket.emit("subscribe", { trackingId: left });
    socket.emit("unsubscribe", { trackingId: left });
    socket.emit("subscribe", { trackingId: back });
    socket.emit("unsubscribe", { trackingId: back });
    socket.emit("subscribe", { trackingId: back });
    assert.deepEqual(
      (await acks.until(5)).map((ack) => ack.data),
      [
        `Subscribed to trackingId: ${left}`,
        `Unsubscribed from trackingId: ${left}`,
        `Subscribed to trackingId: ${back}`,
        `Unsubscribed from trackingId: ${back}`,
        `Subscribed to trackingId: ${back}`,
      ],
    );
    const payments = collect<any>(socket, "payment");
    // One publish, emitted in order: a payment for the left tracking ID would arrive first.
    await server.publish([paymentBody({ trackingId: left }), paymentBody({ trackingId: back })]);
    const [first] = await payments.until(1);
    assert.equal(first.data.trackingId, back);
    assert.equal(payments.items.length, 1);
  });

  test("the subscription limit per socket refuses with SUBSCRIPTION_LIMIT, and re-subscribing is not counted", async () => {
    const socket = await server.connect();
    const ids = [uniqueId("limit"), uniqueId("limit"), uniqueId("limit")];
    for (const id of ids) assert.equal((await emitWithAck(socket, "subscribe", { trackingId: id })).ok, true);
    assert.equal((await emitWithAck(socket, "subscribe", { trackingId: ids[0] })).ok, true);
    const error = nextEvent<any>(socket, "error");
    const refused = await emitWithAck(socket, "subscribe", { trackingId: uniqueId("limit") });
    assert.equal(refused.ok, false);
    assert.equal(refused.error.code, "SUBSCRIPTION_LIMIT");
    assert.match(refused.error.message, /limit 3/);
    assert.equal((await error).data.code, "SUBSCRIPTION_LIMIT");
    // Leaving one frees a place.
    await emitWithAck(socket, "unsubscribe", { trackingId: ids[1] });
    assert.equal((await emitWithAck(socket, "subscribe", { trackingId: uniqueId("limit") })).ok, true);
  });
});

describe("limits and recovery", () => {
  test("an oversized frame closes only the socket that sent it", async () => {
    const trackingId = uniqueId("oversize");
    const bystander = await server.connect();
    const sender = await server.connect();
    await subscribe(bystander, trackingId);
    const dropped = nextEvent<string>(sender, "disconnect");
    sender.emit("subscribe", { trackingId: "x".repeat(5 * 1024 * 1024) });
    assert.match(await dropped, /transport (close|error)/);

    const payment = nextEvent<any>(bystander, "payment");
    await server.publish(paymentBody({ trackingId }));
    assert.equal((await payment).data.trackingId, trackingId);
    assert.equal(bystander.connected, true);
  });

  test("connection-state recovery: after a transport drop the stock client keeps its rooms and gets what it missed", async () => {
    const { socket, trackingId, payments } = await subscribedWithOnePayment(server, "recovery");
    await dropTransport(server, socket);
    const missed = paymentBody({ trackingId });
    await server.publish(missed);

    socket.connect();
    await nextEvent(socket, "connect");
    assert.equal(socket.recovered, true);
    const received = await payments.until(2);
    assert.equal(received[1].data.signature, missed.signature);
    // The room survived: a live payment after recovery arrives without a new subscribe.
    await server.publish(paymentBody({ trackingId }));
    const all = await payments.until(3);
    assert.deepEqual(
      all.map((m) => m.data.offset),
      [1, 2, 3],
    );
  });

  test("past RECOVERY_MAX_PACKETS a dropped client is not recovered, and `since` still brings what it missed", async () => {
    const capped = await startTestServer({ RECOVERY_MAX_PACKETS: "2" });
    try {
      const { socket, trackingId, payments } = await subscribedWithOnePayment(capped, "recovery-cap");
      await dropTransport(capped, socket);
      // Two more broadcasts push the packet the client's offset names out of a buffer of two.
      await capped.publish(paymentBody({ trackingId }));
      await capped.publish(paymentBody({ trackingId }));

      socket.connect();
      await nextEvent(socket, "connect");
      assert.equal(socket.recovered, false);
      socket.emit("subscribe", { trackingId, since: 1 });
      const all = await payments.until(3);
      assert.deepEqual(
        all.map((m) => m.data.offset),
        [1, 2, 3],
      );
    } finally {
      await capped.close();
    }
  });
});
