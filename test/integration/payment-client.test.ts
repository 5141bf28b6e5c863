import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { Server, type Socket } from "socket.io";
import type { PaymentClient } from "../../src/client/payment-client.js";
import type { ClientError } from "../../src/client/types.js";
import { openSqliteStore } from "../../src/store/sqlite-store.js";
import {
  clientFactory,
  nextClientEvent,
  reachState,
  recorder,
  recordStates,
} from "../support/payment-client.js";
import { paymentBody, randomPubkey, randomSignature } from "../support/payments.js";
import { startServerProcess } from "../support/server-process.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../support/test-server.js";
import { nextEvent, waitUntil } from "../support/wait.js";

let counter = 0;
const uniqueId = (label: string) => `${label}-${++counter}-${process.pid}`;

const clients = clientFactory();
// Quick retries keep restart tests short; they change no outcome.
const FAST_RETRY = { reconnectionDelay: 50, reconnectionDelayMax: 200 };

const subscribed = (client: PaymentClient, trackingId: string, timeoutMs?: number) =>
  nextClientEvent(client, "subscribed", (info) => info.trackingId === trackingId, timeoutMs);

describe("against the service in-process", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    clients.closeAll();
    await server.close();
  });

  const connectClient = (socketOptions = {}) =>
    clients.create({ url: server.url, transports: ["websocket"], socketOptions: { ...FAST_RETRY, ...socketOptions } });

  async function publish(body: unknown): Promise<void> {
    const response = await server.publish(body);
    assert.equal(response.status, 200, JSON.stringify(response.body));
  }

  /** Drops the transport and waits until the server has seen it go, so that recovery has a session to restore. */
  async function dropConnection(client: PaymentClient): Promise<void> {
    const serverSocket = server.app.gateway.io.sockets.sockets.get(client.socket.id!);
    assert.ok(serverSocket, "the server knows the client's socket");
    const serverSawDrop = nextEvent(serverSocket, "disconnect");
    client.socket.io.engine.close();
    await serverSawDrop;
  }

  test("live payments arrive typed, with the exact u64 amount as a bigint above 2^53", async () => {
    const client = connectClient();
    const states = recordStates(client);
    assert.equal(client.state, "connecting");
    const trackingId = uniqueId("typed");
    const seen = recorder();
    const ready = subscribed(client, trackingId);
    client.subscribe(trackingId, seen.handler);
    await ready;
    assert.deepEqual(states, ["connected"]);

    const bodies = [
      paymentBody({ trackingId, amount: "9007199254740993", timestamp: 1_699_876_543 }),
      paymentBody({ trackingId, amount: "18446744073709551615", status: "pending", payer: randomPubkey() }),
      paymentBody({ trackingId, amount: 5 }),
    ];
    await publish(bodies);
    const received = await seen.until(3);
    assert.deepEqual(
      received.map((p) => p.amount),
      [9_007_199_254_740_993n, 18_446_744_073_709_551_615n, 5n],
    );
    assert.equal(typeof received[0]?.amount, "bigint");
    assert.equal(received[0]?.amountNumber, 9_007_199_254_740_992, "the wire number is rounded; amount is not");
    assert.equal(received[1]?.amountRaw, "18446744073709551615");
    assert.deepEqual(seen.offsets(), [1, 2, 3]);
    const [first, second] = received;
    assert.equal(first?.id, `${bodies[0]?.signature}:0`);
    assert.equal(first?.signature, bodies[0]?.signature);
    assert.equal(first?.trackingId, trackingId);
    assert.equal(first?.timestamp, 1_699_876_543);
    assert.equal(first?.status, "executed");
    assert.equal(second?.status, "pending");
    assert.equal(second?.payer, bodies[1]?.payer);
    assert.equal(client.lastOffset(trackingId), 3);
  });

  test("a dropped client reconnects by itself, re-subscribes from its last offset and keeps receiving", async () => {
    // A retry delay well above the time the server needs to notice the drop, so that there is a session to recover.
    const client = connectClient({ reconnectionDelay: 300, randomizationFactor: 0 });
    const trackingId = uniqueId("drop");
    const seen = recorder();
    const ready = subscribed(client, trackingId);
    client.subscribe(trackingId, seen.handler);
    await ready;
    await publish(paymentBody({ trackingId }));
    await seen.until(1);

    const states = recordStates(client);
    const resubscribed = subscribed(client, trackingId);
    await dropConnection(client);
    const info = await resubscribed;
    assert.equal(info.since, 1, "the re-subscribe asks for what came after the last payment handed over");
    assert.deepEqual(states, ["reconnecting", "recovered"]);

    await publish(paymentBody({ trackingId }));
    await seen.until(2);
    assert.deepEqual(seen.offsets(), [1, 2]);
  });

  test("payments published while away arrive once each, in order, although recovery and the re-subscribe both resend them", async () => {
    const client = connectClient({ reconnection: false });
    const trackingId = uniqueId("away");
    const seen = recorder();
    const ready = subscribed(client, trackingId);
    client.subscribe(trackingId, seen.handler);
    await ready;
    await publish(paymentBody({ trackingId }));
    await seen.until(1);

    await dropConnection(client);
    await reachState(client, "disconnected");
    await publish([paymentBody({ trackingId }), paymentBody({ trackingId })]);

    const states = recordStates(client);
    const resubscribed = subscribed(client, trackingId);
    client.socket.connect();
    await resubscribed;
    assert.deepEqual(states, ["recovered"]);
    // Emits keep their order, so once this live one is handed over every resent one has come and gone.
    await publish(paymentBody({ trackingId }));
    await seen.until(4);
    assert.deepEqual(seen.offsets(), [1, 2, 3, 4]);
    assert.equal(new Set(seen.items.map((p) => p.id)).size, 4);
  });

  test("duplicated and out-of-order deliveries reach the handler once each, in offset order", async () => {
    const client = connectClient();
    const trackingId = uniqueId("reorder");
    await publish([paymentBody({ trackingId }), paymentBody({ trackingId }), paymentBody({ trackingId })]);
    const stored = await server.app.store.list({ trackingId, after: 0, limit: 10 });
    const [one, two, three] = stored;
    assert.ok(one && two && three);

    const seen = recorder();
    const ready = subscribed(client, trackingId);
    client.subscribe(trackingId, seen.handler, { since: 0 });
    await ready;
    // Sent to the room again, as a second node or a replay racing live traffic would.
    for (const payment of [three, one, three, two, one, two]) server.app.gateway.sendToRoom(payment);
    await publish(paymentBody({ trackingId }));
    await seen.until(4);
    assert.deepEqual(seen.offsets(), [1, 2, 3, 4]);
  });

  test("several tracking IDs on one client: each handler gets its own payments, also after a reconnect", async () => {
    const client = connectClient();
    const [a, b, c] = [uniqueId("multi-a"), uniqueId("multi-b"), uniqueId("multi-c")];
    const seen = { [a]: recorder(), [b]: recorder(), [c]: recorder() };
    const readies = [a, b, c].map((id) => subscribed(client, id));
    for (const id of [a, b, c]) client.subscribe(id, seen[id]!.handler);
    await Promise.all(readies);

    await publish([a, b, a, c, b, a].map((trackingId) => paymentBody({ trackingId })));
    await Promise.all([seen[a]!.until(3), seen[b]!.until(2), seen[c]!.until(1)]);

    const resubscribed = [a, b, c].map((id) => subscribed(client, id));
    await dropConnection(client);
    const infos = await Promise.all(resubscribed);
    assert.deepEqual(
      infos.map((info) => info.since),
      [3, 2, 1],
    );
    await publish([c, a].map((trackingId) => paymentBody({ trackingId })));
    await Promise.all([seen[a]!.until(4), seen[c]!.until(2)]);
    assert.deepEqual(seen[a]!.offsets(), [1, 2, 3, 4]);
    assert.deepEqual(seen[b]!.offsets(), [1, 2]);
    assert.deepEqual(seen[c]!.offsets(), [1, 2]);
    for (const id of [a, b, c]) assert.ok(seen[id]!.items.every((p) => p.trackingId === id));
  });

  test("unsubscribe stops delivery, leaves the room, is not undone by a reconnect, and frees the tracking ID", async () => {
    const client = connectClient();
    const [left, kept] = [uniqueId("left"), uniqueId("kept")];
    const leftSeen = recorder();
    const keptSeen = recorder();
    const readies = [subscribed(client, left), subscribed(client, kept)];
    const unsubscribe = client.subscribe(left, leftSeen.handler);
    client.subscribe(kept, keptSeen.handler);
    await Promise.all(readies);
    assert.throws(() => client.subscribe(left, () => {}), /already subscribed/);

    unsubscribe();
    unsubscribe();
    const rooms = () => server.app.gateway.io.sockets.sockets.get(client.socket.id!)?.rooms ?? new Set<string>();
    // Room membership has no event of its own on the server.
    await waitUntil(() => !rooms().has(`t:${left}`), "the server has processed the unsubscribe");
    await publish([paymentBody({ trackingId: left }), paymentBody({ trackingId: kept })]);
    await keptSeen.until(1);
    assert.equal(leftSeen.items.length, 0);

    const resubscribed = subscribed(client, kept);
    await dropConnection(client);
    await resubscribed;
    assert.equal(rooms().has(`t:${left}`), false, "the reconnect did not subscribe the left tracking ID again");
    assert.equal(rooms().has(`t:${kept}`), true);

    const again = recorder();
    const ready = subscribed(client, left);
    client.subscribe(left, again.handler);
    await ready;
    await publish(paymentBody({ trackingId: left }));
    await again.until(1);
    assert.deepEqual(again.offsets(), [2]);
    assert.equal(leftSeen.items.length, 0);
  });

  test("an unsubscribe while offline is sent once the connection is back, so a recovered room does not linger", async () => {
    const client = connectClient({ reconnection: false });
    const trackingId = uniqueId("offline-leave");
    const ready = subscribed(client, trackingId);
    const unsubscribe = client.subscribe(trackingId, () => assert.fail("no payment after unsubscribe"));
    await ready;
    await dropConnection(client);
    await reachState(client, "disconnected");
    unsubscribe();

    client.socket.connect();
    await reachState(client, "recovered");
    const serverSocket = server.app.gateway.io.sockets.sockets.get(client.socket.id!);
    assert.ok(serverSocket);
    // Room membership has no event of its own on the server.
    await waitUntil(() => !serverSocket.rooms.has(`t:${trackingId}`), "the server has processed the unsubscribe");
  });

  test("a refused subscribe is reported once, with its tracking ID, and dropped", async () => {
    const client = connectClient();
    const errors: ClientError[] = [];
    client.on("error", (error) => errors.push(error));
    const refused = nextClientEvent(client, "error");
    client.subscribe("", () => assert.fail("a refused subscription gets no payments"));
    const error = await refused;
    assert.equal(error.code, "INVALID_TRACKING_ID");
    assert.equal(error.trackingId, "");
    // A later, accepted subscribe proves the server's own error event has come and was not reported again.
    const trackingId = uniqueId("after-refusal");
    const ready = subscribed(client, trackingId);
    client.subscribe(trackingId, () => {});
    await ready;
    assert.equal(errors.length, 1);
    assert.doesNotThrow(() => client.subscribe("", () => {}), "the refused tracking ID is free again");
  });

  test("a handler that throws is reported and does not stop the next payments", async () => {
    const client = connectClient();
    const trackingId = uniqueId("throws");
    const seen = recorder();
    const errorEvent = nextClientEvent(client, "error");
    const ready = subscribed(client, trackingId);
    client.subscribe(trackingId, (payment) => {
      seen.handler(payment);
      if (payment.offset === 1) throw new Error("boom");
    });
    await ready;
    await publish([paymentBody({ trackingId }), paymentBody({ trackingId })]);
    const error = await errorEvent;
    assert.equal(error.code, "HANDLER_ERROR");
    assert.equal((error.cause as Error).message, "boom");
    await seen.until(2);
    assert.deepEqual(seen.offsets(), [1, 2]);
  });

  test("close ends the connection and the client", async () => {
    const client = connectClient();
    await reachState(client, "connected");
    const serverSocket = server.app.gateway.io.sockets.sockets.get(client.socket.id!);
    assert.ok(serverSocket);
    const gone = nextEvent(serverSocket, "disconnect");
    client.close();
    assert.equal(client.state, "disconnected");
    await gone;
    assert.throws(() => client.subscribe(uniqueId("closed"), () => {}), /closed/);
  });
});


describe("replay from the store (needs the server's `since` support)", () => {
  test("without connection-state recovery, the re-subscribe alone brings back what was published while away", async () => {
    const server = await startTestServer({ RECOVERY_WINDOW_MS: "0" });
    const client = clients.create({ url: server.url, transports: ["websocket"], socketOptions: { reconnection: false } });
    try {
      const trackingId = uniqueId("replay");
      const seen = recorder();
      const ready = subscribed(client, trackingId);
      client.subscribe(trackingId, seen.handler);
      await ready;
      await server.publish(paymentBody({ trackingId }));
      await seen.until(1);

      client.socket.io.engine.close();
      await reachState(client, "disconnected");
      await server.publish([paymentBody({ trackingId }), paymentBody({ trackingId })]);
      const states = recordStates(client);
      const resubscribed = subscribed(client, trackingId);
      client.socket.connect();
      const info = await resubscribed;
      assert.deepEqual(states, ["connected"], "no recovery: this is a fresh session");
      assert.equal(info.since, 1);
      assert.equal(info.latestOffset, 3);
      await seen.until(3);
      await server.publish(paymentBody({ trackingId }));
      await seen.until(4);
      assert.deepEqual(seen.offsets(), [1, 2, 3, 4]);
    } finally {
      client.close();
      await server.close();
    }
  });

  test("since on the first subscribe replays the history, then continues live", async () => {
    const server = await startTestServer();
    const client = clients.create({ url: server.url, transports: ["websocket"] });
    try {
      const trackingId = uniqueId("history");
      await server.publish(Array.from({ length: 4 }, () => paymentBody({ trackingId })));
      const seen = recorder();
      const ready = subscribed(client, trackingId);
      client.subscribe(trackingId, seen.handler, { since: 1 });
      assert.equal((await ready).latestOffset, 4);
      await seen.until(3);
      await server.publish(paymentBody({ trackingId }));
      await seen.until(4);
      assert.deepEqual(seen.offsets(), [2, 3, 4, 5]);
    } finally {
      client.close();
      await server.close();
    }
  });
  test("the handler is told which payments a replay filled in and which arrived live", async () => {
    const server = await startTestServer({ RECOVERY_WINDOW_MS: "0" });
    const client = clients.create({ url: server.url, transports: ["websocket"], socketOptions: { reconnection: false } });
    try {
      const trackingId = uniqueId("replayed-flag");
      await server.publish([paymentBody({ trackingId }), paymentBody({ trackingId })]);
      const seen: Array<[number, boolean]> = [];
      const ready = subscribed(client, trackingId);
      client.subscribe(trackingId, (payment, delivery) => seen.push([payment.offset, delivery.replayed]), { since: 0 });
      await ready;
      await waitUntil(() => seen.length === 2, "the history is replayed");
      await server.publish(paymentBody({ trackingId }));
      await waitUntil(() => seen.length === 3, "the live payment arrives");

      client.socket.io.engine.close();
      await reachState(client, "disconnected");
      await server.publish([paymentBody({ trackingId }), paymentBody({ trackingId })]);
      const resubscribed = subscribed(client, trackingId);
      client.socket.connect();
      assert.equal((await resubscribed).latestOffset, 5);
      await waitUntil(() => seen.length === 5, "what was missed is filled in");
      await server.publish(paymentBody({ trackingId }));
      await waitUntil(() => seen.length === 6, "live again");
      assert.deepEqual(seen, [
        [1, true],
        [2, true],
        [3, false],
        [4, true],
        [5, true],
        [6, false],
      ]);
    } finally {
      client.close();
      await server.close();
    }
  });
});

describe("retention (needs the server's `since` support)", () => {
  test("a replay that retention cut short reports REPLAY_TRUNCATED and hands over the rest at once", async () => {
    const server = await startTestServer();
    // The gap timeout is out of reach: only the truncation error can let offset 3 through.
    const client = clients.create({ url: server.url, transports: ["websocket"], gapTimeoutMs: 60_000 });
    const db = new Database(server.databaseUrl.slice("sqlite:".length));
    try {
      const trackingId = uniqueId("retention");
      await server.publish(Array.from({ length: 4 }, () => paymentBody({ trackingId })));
      // What retention does: the oldest rows go, the log's head stays.
      db.prepare("DELETE FROM payments WHERE tracking_id = ? AND log_offset <= 2").run(trackingId);

      const seen = recorder();
      const error = nextClientEvent(client, "error");
      client.subscribe(trackingId, seen.handler, { since: 0 });
      assert.equal((await error).code, "REPLAY_TRUNCATED");
      await seen.until(2);
      await server.publish(paymentBody({ trackingId }));
      await seen.until(3);
      assert.deepEqual(seen.offsets(), [3, 4, 5]);
    } finally {
      db.close();
      client.close();
      await server.close();
    }
  });
});

describe("server restarts on the same SQLite file and port (needs the server's `since` support)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "tributary-client-"));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  async function publishTo(url: string, body: unknown): Promise<void> {
    const response = await fetch(`${url}/v1/payments`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 200, await response.text());
  }

  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    test(`${signal}: the client reconnects to the restarted server and sees every payment once, in order`, { timeout: 60_000 }, async () => {
      const file = join(dataDir, `${signal}.sqlite`);
      const env = { DATABASE_URL: `sqlite:${file}`, TRIBUTARY_API_KEYS: TEST_API_KEY };
      const first = await startServerProcess(env);
      const client = clients.create({ url: first.url, transports: ["websocket"], socketOptions: FAST_RETRY });
      let second: Awaited<ReturnType<typeof startServerProcess>> | undefined;
      try {
        const trackingId = uniqueId(signal);
        const seen = recorder();
        const ready = subscribed(client, trackingId);
        client.subscribe(trackingId, seen.handler);
        await ready;
        await publishTo(first.url, [paymentBody({ trackingId }), paymentBody({ trackingId })]);
        await seen.until(2);

        const errors: ClientError[] = [];
        client.on("error", (error) => errors.push(error));
        const dropped = reachState(client, "reconnecting", 15_000);
        first.child.kill(signal);
        assert.equal(await first.exited, signal === "SIGTERM" ? 0 : "SIGKILL");
        await dropped;
        if (signal === "SIGTERM") {
          assert.deepEqual(
            errors.map((e) => e.code),
            ["CONNECTION_ERROR"],
            "a drain says why before it drops",
          );
        }

        // Published while no server runs, as another node sharing the store would.
        const store = openSqliteStore({ path: file });
        const appended = await store.append(
          [0, 1].map(() => ({
            trackingId,
            amount: 1_000_000n,
            timestamp: 1_700_000_000,
            status: "executed" as const,
            signature: randomSignature(),
            eventIndex: 0,
          })),
        );
        await store.close();
        assert.deepEqual(
          appended.map((outcome) => outcome.payment.offset),
          [3, 4],
        );

        const resubscribed = subscribed(client, trackingId, 20_000);
        second = await startServerProcess({ ...env, PORT: new URL(first.url).port });
        assert.equal(second.url, first.url);
        const info = await resubscribed;
        assert.equal(info.since, 2);
        assert.equal(client.state, "connected", "a new process has no session to recover");
        await seen.until(4);
        await publishTo(second.url, paymentBody({ trackingId }));
        await seen.until(5);
        assert.deepEqual(seen.offsets(), [1, 2, 3, 4, 5]);
      } finally {
        client.close();
        first.child.kill("SIGKILL");
        if (second) {
          second.child.kill("SIGTERM");
          await second.exited;
        }
      }
    });
  }
});


describe("protocol details, against a scripted Socket.IO server", () => {
  let io: Server;
  let url: string;
  let onSubscribe: (socket: Socket, payload: any, ack: (response: unknown) => void) => void;

  before(async () => {
    const httpServer = createServer();
    io = new Server(httpServer, { path: "/ws/v1" });
    io.on("connection", (socket) => socket.on("subscribe", (payload, ack) => onSubscribe(socket, payload, ack)));
    await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  });
  // Each test scripts the server anew; a client left from the one before must not talk to it.
  afterEach(() => clients.closeAll());
  after(async () => {
    await io.close();
  });

  const envelope = (trackingId: string, offset: number) => ({
    type: "payment_notification",
    data: {
      trackingId,
      amount: offset,
      amountRaw: String(offset),
      timestamp: 1_700_000_000,
      status: "executed",
      signature: `sig${offset}`,
      id: `sig${offset}:0`,
      offset,
      eventIndex: 0,
    },
    timestamp: Date.now(),
  });

  test("giving up reconnecting ends in the disconnected state with CONNECT_FAILED", async () => {
    const unused = createServer();
    await new Promise<void>((resolve) => unused.listen(0, "127.0.0.1", resolve));
    const port = (unused.address() as AddressInfo).port;
    await new Promise((resolve) => unused.close(resolve));
    const client = clients.create({
      url: `http://127.0.0.1:${port}`,
      transports: ["websocket"],
      socketOptions: { ...FAST_RETRY, reconnectionAttempts: 2 },
    });
    const error = await nextClientEvent(client, "error");
    assert.equal(error.code, "CONNECT_FAILED");
    assert.equal(client.state, "disconnected");
  });

  test("REPLAY_TRUNCATED is surfaced, and what remains is handed over at once, in order", async () => {
    onSubscribe = (socket, payload, ack) => {
      ack({ ok: true, trackingId: payload.trackingId, subscribed: true, latestOffset: 6 });
      socket.emit("error", { type: "error", data: { code: "REPLAY_TRUNCATED", message: "offsets 2 to 4 are gone" }, timestamp: Date.now() });
      for (const offset of [5, 6]) socket.emit("payment", envelope(payload.trackingId, offset));
    };
    // A gap timeout no test would wait for: the error itself must release offset 5,
    // attributed to the one subscription whose replay had not started.
    const client = clients.create({ url, transports: ["websocket"], gapTimeoutMs: 60_000 });
    const seen = recorder();
    const error = nextClientEvent(client, "error");
    client.subscribe("truncated", seen.handler, { since: 1 });
    assert.equal((await error).code, "REPLAY_TRUNCATED");
    await seen.until(2);
    assert.deepEqual(seen.offsets(), [5, 6]);
  });

  test("a REPLAY_TRUNCATED that names its tracking ID lets the rest through without waiting", async () => {
    onSubscribe = (socket, payload, ack) => {
      ack({ ok: true, trackingId: payload.trackingId, subscribed: true, latestOffset: 9 });
      socket.emit("error", {
        type: "error",
        data: { code: "REPLAY_TRUNCATED", message: "gone", trackingId: payload.trackingId },
        timestamp: Date.now(),
      });
      for (const offset of [8, 9]) socket.emit("payment", envelope(payload.trackingId, offset));
    };
    // A gap timeout no test would wait for: only the named error can release offset 8.
    const client = clients.create({ url, transports: ["websocket"], gapTimeoutMs: 60_000 });
    const seen = recorder();
    client.subscribe("truncated-named", seen.handler, { since: 0 });
    await seen.until(2);
    assert.deepEqual(seen.offsets(), [8, 9]);
  });

  test("an offset that never comes is given up after gapTimeoutMs", async () => {
    onSubscribe = (socket, payload, ack) => {
      ack({ ok: true, trackingId: payload.trackingId, subscribed: true, latestOffset: 3 });
      socket.emit("payment", envelope(payload.trackingId, 3));
    };
    const client = clients.create({ url, transports: ["websocket"], gapTimeoutMs: 50 });
    const seen = recorder();
    client.subscribe("gap", seen.handler, { since: 1 });
    await seen.until(1);
    assert.deepEqual(seen.offsets(), [3]);
    assert.equal(client.lastOffset("gap"), 3);
  });

  test("a missing offset is not given up while the connection is down: the re-subscribe brings it", async () => {
    let attempts = 0;
    onSubscribe = (socket, payload, ack) => {
      if (payload.trackingId !== "gap-offline") return;
      attempts += 1;
      ack({ ok: true, trackingId: payload.trackingId, subscribed: true, latestOffset: 3 });
      if (attempts === 1) {
        socket.emit("payment", envelope(payload.trackingId, 3));
        // Cut the transport right after offset 3: offset 2 only comes with the next replay.
        socket.conn.close();
      } else {
        for (const offset of [2, 3]) socket.emit("payment", envelope(payload.trackingId, offset));
      }
    };
    // The reconnect comes long after the gap timeout would have run out, had it kept running while offline.
    // The timeout still has to outlast the moment between offset 3 and the client seeing the transport
    // close, which a busy machine can stretch past 20 ms.
    const client = clients.create({
      url,
      transports: ["websocket"],
      gapTimeoutMs: 150,
      socketOptions: { reconnectionDelay: 1000, randomizationFactor: 0 },
    });
    const seen = recorder();
    const resubscribed = nextClientEvent(client, "subscribed", (info) => info.trackingId === "gap-offline" && attempts === 2);
    client.subscribe("gap-offline", seen.handler, { since: 1 });
    assert.equal((await resubscribed).since, 1, "nothing was handed over before the drop");
    await seen.until(2);
    assert.deepEqual(seen.offsets(), [2, 3]);
  });

  test("a subscribe refused for a passing reason is reported and retried; a final refusal is not", async () => {
    let attempts = 0;
    onSubscribe = (_socket, payload, ack) => {
      if (payload.trackingId === "busy") attempts += 1;
      if (payload.trackingId === "busy" && attempts === 1) {
        ack({ ok: false, error: { code: "STORE_UNAVAILABLE", message: "busy" } });
      } else if (payload.trackingId === "bad-since") {
        ack({ ok: false, error: { code: "INVALID_SINCE", message: "bad" } });
      } else {
        ack({ ok: true, trackingId: payload.trackingId, subscribed: true, latestOffset: 0 });
      }
    };
    const client = clients.create({ url, transports: ["websocket"] });
    const refused = nextClientEvent(client, "error");
    const accepted = subscribed(client, "busy");
    client.subscribe("busy", () => {});
    assert.deepEqual(await refused, { code: "STORE_UNAVAILABLE", message: "busy", trackingId: "busy" });
    await accepted;
    assert.equal(attempts, 2);

    const final = nextClientEvent(client, "error");
    client.subscribe("bad-since", () => {});
    assert.equal((await final).code, "INVALID_SINCE");
    assert.doesNotThrow(() => client.subscribe("bad-since", () => {}), "a finally refused subscription is dropped");
  });

  test("only a refusal that ends the subscription says so", async () => {
    let attempts = 0;
    onSubscribe = (_socket, payload, ack) => {
      if (payload.trackingId === "limit") {
        ack({ ok: false, error: { code: "SUBSCRIPTION_LIMIT", message: "too many" } });
      } else if (payload.trackingId === "busy-once" && ++attempts === 1) {
        ack({ ok: false, error: { code: "STORE_UNAVAILABLE", message: "busy" } });
      } else {
        ack({ ok: true, trackingId: payload.trackingId, subscribed: true, latestOffset: 0 });
      }
    };
    const client = clients.create({ url, transports: ["websocket"] });
    const passing = nextClientEvent(client, "error");
    client.subscribe("busy-once", () => {});
    assert.equal((await passing).subscriptionEnded, undefined);
    const final = nextClientEvent(client, "error");
    client.subscribe("limit", () => {});
    assert.deepEqual(await final, { code: "SUBSCRIPTION_LIMIT", message: "too many", trackingId: "limit", subscriptionEnded: true });
  });

  test("an unanswered subscribe is reported as SUBSCRIBE_TIMEOUT and sent again", async () => {
    let attempts = 0;
    onSubscribe = (_socket, payload, ack) => {
      if (payload.trackingId !== "silent") return;
      attempts += 1;
      if (attempts > 1) ack({ ok: true, trackingId: payload.trackingId, subscribed: true, latestOffset: 0 });
    };
    const client = clients.create({ url, transports: ["websocket"], ackTimeoutMs: 50 });
    const timedOut = nextClientEvent(client, "error");
    const accepted = subscribed(client, "silent");
    client.subscribe("silent", () => {});
    const error = await timedOut;
    assert.equal(error.code, "SUBSCRIBE_TIMEOUT");
    assert.equal(error.trackingId, "silent");
    await accepted;
    assert.equal(attempts, 2);
  });

  test("a live payment that overtakes the replay waits for it", async () => {
    onSubscribe = (socket, payload, ack) => {
      ack({ ok: true, trackingId: payload.trackingId, subscribed: true, latestOffset: 3 });
      for (const offset of [4, 2, 3, 2, 4]) socket.emit("payment", envelope(payload.trackingId, offset));
    };
    const client = clients.create({ url, transports: ["websocket"], gapTimeoutMs: 60_000 });
    const seen = recorder();
    client.subscribe("overtaken", seen.handler, { since: 1 });
    await seen.until(3);
    // The last emits are duplicates; a fresh payment after them shows they were dropped.
    io.emit("payment", envelope("overtaken", 5));
    await seen.until(4);
    assert.deepEqual(seen.offsets(), [2, 3, 4, 5]);
  });

  test("a live-only subscription starts at the server's latest offset, so a reconnect asks for what followed it", async () => {
    const sinces: Array<number | undefined> = [];
    onSubscribe = (_socket, payload, ack) => {
      sinces.push(payload.since);
      ack({ ok: true, trackingId: payload.trackingId, subscribed: true, latestOffset: 7 });
    };
    const client = clients.create({ url, transports: ["websocket"], socketOptions: FAST_RETRY });
    const trackingId = "live-only";
    const first = subscribed(client, trackingId);
    client.subscribe(trackingId, () => {});
    await first;
    assert.equal(client.lastOffset(trackingId), 7);
    const again = subscribed(client, trackingId);
    client.socket.io.engine.close();
    await again;
    assert.deepEqual(sinces, [undefined, 7]);
  });
});
