import assert from "node:assert/strict";
import { connect as tcpConnect, type Socket as TcpSocket } from "node:net";
import { after, before, describe, test } from "node:test";
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import type { Socket } from "socket.io-client";
import { paymentBody } from "../support/payments.js";
import { engineUrl, rawConnect } from "../support/raw-client.js";
import { emitWithAck, startTestServer, TEST_API_KEY, type TestServer } from "../support/test-server.js";
import { nextEvent, waitUntil } from "../support/wait.js";
import WebSocket from "ws";

/**
 * Garbage below socket.io-client: broken Engine.IO and Socket.IO packets,
 * binary attachments, unknown namespaces, oversized and many frames, raw TCP
 * that never finishes. After each, a bystander on a stock client must still
 * get its payments.
 */
let server: TestServer;
let bystander: Socket;
let rounds = 0;
const TRACKING_ID = "bystander";

before(async () => {
  server = await startTestServer({ MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND: "0", SOCKET_EVENTS_PER_SECOND: "0" });
  bystander = await server.connect();
  await emitWithAck(bystander, "subscribe", { trackingId: TRACKING_ID });
});
after(() => server.close());

async function bystanderStillServed(): Promise<void> {
  const payment = nextEvent<any>(bystander, "payment");
  const body = paymentBody({ trackingId: TRACKING_ID });
  assert.equal((await server.publish(body)).status, 200);
  assert.equal((await payment).data.signature, body.signature);
  rounds++;
}

/** Sends frames on a fresh Engine.IO session; resolves with the frames answered and whether the server closed it. */
async function sendFrames(frames: Array<string | Buffer>, namespace: string | null = "/"): Promise<{ answers: string[]; closed: boolean }> {
  const client = await rawConnect(server.url, { namespace });
  const before = client.frames.length;
  for (const frame of frames) client.ws.send(frame);
  // A ping round-trip through the server's Socket.IO layer: answered only once the frames before it were handled.
  const closedEarly = client.closed.then(() => true);
  client.ws.send('42["unsubscribe",{"trackingId":"probe"},"x"]');
  let outcome: boolean;
  try {
    outcome = await Promise.race([
      client.waitFor((frame) => frame.includes("Unsubscribed from trackingId: probe"), 5000).then(() => false),
      closedEarly,
    ]);
  } finally {
    client.ws.terminate();
  }
  const answers = client.frames.slice(before);
  return { answers, closed: outcome };
}

describe("broken Engine.IO and Socket.IO packets", () => {
  const cases: Array<[string, Array<string | Buffer>]> = [
    ["an empty frame", [""]],
    ["an unknown Engine.IO type", ["9", "x"]],
    ["a message with no Socket.IO packet", ["4"]],
    ["an event with no payload", ["42"]],
    ["truncated JSON", ['42["subscribe",{"trackingId":']],
    ["an event that is not an array", ['42{"subscribe":1}']],
    ["an event name that is not a string", ["42[42]", "42[null]", '42[{"a":1}]']],
    ["an ack for nothing", ['43["x"]', "4399[1]"]],
    ["a binary event announcing attachments that never come", ['451-["subscribe",{"_placeholder":true,"num":0}]']],
    ["a binary event with a bad placeholder", ['451-["subscribe",{"_placeholder":true,"num":7}]', Buffer.from([1, 2, 3])]],
    ["stray binary frames", [Buffer.from([0xff, 0x00, 0x42]), Buffer.alloc(0)]],
    ["deeply nested JSON", [`42["subscribe",${"[".repeat(5000)}${"]".repeat(5000)}]`]],
    ["a connect to an already connected namespace", ["40"]],
    ["a disconnect packet, events to nowhere, then a connect again", ["41", '42["subscribe",{"trackingId":"after"}]', "40"]],
    ["an upgrade probe out of turn", ["2probe", "5", "6"]],
    ["a close packet", ["1"]],
    ["a thousand garbage frames in a row", Array.from({ length: 1000 }, (_, i) => `4${i % 10}garbage`)],
  ];

  for (const [label, frames] of cases) {
    test(`${label}: that session alone is affected, the server keeps serving`, async () => {
      const { answers } = await sendFrames(frames);
      for (const answer of answers) assert.ok(!answer.includes("stack") && !answer.includes("node_modules"), answer);
      await bystanderStillServed();
    });
  }

  test("an unknown namespace is refused with CONNECT_ERROR and nothing else happens", async () => {
    const client = await rawConnect(server.url, { namespace: null });
    client.ws.send("40/admin,");
    const refusal = await client.waitFor((frame) => frame.startsWith("44/admin,"));
    assert.match(refusal, /Invalid namespace/);
    client.ws.terminate();
    await bystanderStillServed();
  });

  test("a frame over the size limit closes only its own session", async () => {
    const { closed } = await sendFrames([`42["subscribe",{"trackingId":"${"x".repeat(64 * 1024)}"}]`]);
    assert.equal(closed, true);
    await bystanderStillServed();
  });

  test("an Engine.IO handshake with a wrong protocol version or transport is refused", async () => {
    for (const query of ["EIO=4&transport=carrier-pigeon", "EIO=4&transport=websocket&sid=forged"]) {
      const ws = new WebSocket(engineUrl(server.url, query));
      const outcome = await new Promise<string>((resolve) => {
        ws.once("open", () => resolve("open"));
        ws.once("unexpected-response", (_request, response) => resolve(`http ${response.statusCode}`));
        ws.once("error", () => resolve("error"));
      });
      assert.notEqual(outcome, "open", query);
      ws.terminate();
    }
    const polling = await fetch(`${server.url}/ws/v1/?EIO=4&transport=polling&sid=forged`, { method: "POST", body: "42garbage" });
    assert.equal(polling.status, 400);
    await bystanderStillServed();
  });
});

describe("raw TCP", () => {
  const open = (): Promise<TcpSocket> =>
    new Promise((resolve, reject) => {
      const socket = tcpConnect(Number(new URL(server.url).port), "127.0.0.1", () => resolve(socket));
      socket.once("error", reject);
    });
  const readAll = (socket: TcpSocket): Promise<string> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => chunks.push(chunk));
      socket.once("close", () => resolve(Buffer.concat(chunks).toString()));
    });

  test("HTTP garbage gets 400 in the error shape and the connection closed", async () => {
    const socket = await open();
    const answer = readAll(socket);
    socket.write("THIS IS NOT HTTP\r\n\r\n");
    const text = await answer;
    assert.match(text, /^HTTP\/1\.1 400/);
    assert.deepEqual(JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4)), {
      error: { code: "MALFORMED_REQUEST", message: "The request is malformed" },
    });
    await bystanderStillServed();
  });

  test("half-open connections (an unfinished upgrade, a silent socket, a reset) leave the server serving", async () => {
    const sockets = await Promise.all(Array.from({ length: 20 }, () => open()));
    sockets.forEach((socket, i) => {
      socket.on("error", () => undefined);
      if (i % 3 === 0) socket.write(`GET /ws/v1/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n`);
      if (i % 3 === 1) socket.write("POST /v1/payments HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{");
    });
    await bystanderStillServed();
    for (const socket of sockets) socket.resetAndDestroy();
    await bystanderStillServed();
  });
});

describe("hostile HTTP bodies and slow requests", () => {
  test("a million '[' then a million ']' is refused without a key (401) and with one (400) before parsing", async () => {
    const deep = `${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}`;
    for (const [authorization, status, code] of [
      [undefined, 401, "UNAUTHORIZED"],
      [`Bearer ${TEST_API_KEY}`, 400, "INVALID_BODY"],
    ] as const) {
      const answers = await Promise.all(
        Array.from({ length: 5 }, () =>
          fetch(`${server.url}/v1/payments`, {
            method: "POST",
            headers: { "content-type": "application/json", ...(authorization === undefined ? {} : { authorization }) },
            body: deep,
          }),
        ),
      );
      for (const answer of answers) {
        assert.equal(answer.status, status);
        assert.equal(((await answer.json()) as { error: { code: string } }).error.code, code);
      }
      await bystanderStillServed();
    }
  });

  test("a body that trickles a byte a second is answered 408 at the request deadline, and the server keeps serving", async () => {
    const slow = await startTestServer({ REQUEST_TIMEOUT_MS: "2000" });
    try {
      const socket = tcpConnect(Number(new URL(slow.url).port), "127.0.0.1");
      socket.on("error", () => undefined);
      const chunks: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => chunks.push(chunk));
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.write(`POST /v1/payments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${TEST_API_KEY}\r\nContent-Length: 100000\r\n\r\n[`);
      const trickle = setInterval(() => socket.write(" "), 1000);
      const startedAt = performance.now();
      await closed;
      clearInterval(trickle);
      const text = Buffer.concat(chunks).toString();
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.match(text, /"code":"REQUEST_TIMEOUT"/);
      assert.ok(performance.now() - startedAt >= 1900, "not before the deadline");
      assert.equal((await slow.get("/v1/health")).status, 200);
    } finally {
      await slow.close();
    }
    await bystanderStillServed();
  });

  test("recovery churn (subscribe to 100 IDs, drop the TCP connection, again) is held within the address's subscription cap", async () => {
    const cycles = 150;
    for (let cycle = 0; cycle < cycles; cycle++) {
      const client = await rawConnect(server.url);
      for (let i = 0; i < 100; i++) client.ws.send(`42${JSON.stringify(["subscribe", { trackingId: `churn-${i}` }])}`);
      await client.waitFor((frame) => frame.includes("churn-99"));
      client.ws.terminate();
      await client.closed;
    }
    await waitUntil(() => server.app.gateway.stats.sockets === 1, "every churned socket has gone");
    const stats = server.app.gateway.stats;
    // The default cap, 10,000 per address: at most 100 sessions of 100 held, the rest released oldest first.
    assert.ok(stats.countedSubscriptions <= 10_000, `${stats.countedSubscriptions} counted`);
    assert.ok(stats.recoverySessions <= 100, `${stats.recoverySessions} held`);
    await bystanderStillServed();
  });
});

describe("flood", () => {
  test("waves of connections subscribing and unsubscribing leave no room, socket, subscription or address behind", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const baseline = server.app.gateway.stats;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const waves = 8;
    const perWave = 50;
    const idsPerSocket = 5;
    const deadline = Date.now() + 30_000;
    let events = 0;
    for (let wave = 0; wave < waves && Date.now() < deadline; wave++) {
      const sockets = await Promise.all(Array.from({ length: perWave }, () => server.connect({ reconnection: false })));
      await Promise.all(
        sockets.map(async (socket, s) => {
          for (let round = 0; round < 3; round++) {
            for (let i = 0; i < idsPerSocket; i++) await emitWithAck(socket, "subscribe", { trackingId: `flood-${(s + i) % 17}` });
            for (let i = 0; i < idsPerSocket; i += 2) await emitWithAck(socket, "unsubscribe", { trackingId: `flood-${(s + i) % 17}` });
            events += idsPerSocket + Math.ceil(idsPerSocket / 2);
          }
        }),
      );
      // Half leave cleanly, half drop their transport: both paths must clean up.
      sockets.forEach((socket, s) => (s % 2 === 0 ? socket.disconnect() : socket.io.engine.close()));
      await waitUntil(() => server.app.gateway.stats.sockets === baseline.sockets, `wave ${wave} has left`, 10_000);
    }
    await bystanderStillServed();
    const stats = server.app.gateway.stats;
    assert.deepEqual(
      { sockets: stats.sockets, subscriptions: stats.subscriptions, replays: stats.replays, addresses: stats.addresses },
      { sockets: baseline.sockets, subscriptions: baseline.subscriptions, replays: baseline.replays, addresses: baseline.addresses },
    );
    // Dropped transports keep their rooms for connection-state recovery, outside the adapter's room map.
    assert.equal(stats.rooms, baseline.rooms);
    assert.equal(server.app.gateway.connectionCount, 1);
    gc();
    const heapAfter = process.memoryUsage().heapUsed;
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    console.log(
      `flood: ${waves * perWave} connections, ${events} subscribe/unsubscribe events; ` +
        `heap ${mib(heapBefore)} MiB before, ${mib(heapAfter)} MiB after; rooms ${baseline.rooms} → ${stats.rooms}; raw rounds survived ${rounds}`,
    );
    assert.ok(heapAfter - heapBefore < 32 * 2 ** 20, `heap grew by ${mib(heapAfter - heapBefore)} MiB`);
  });
});
