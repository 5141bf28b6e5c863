import assert from "node:assert/strict";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, afterEach, before, test } from "node:test";
import fc from "fast-check";
import { Server, type Socket } from "socket.io";
import { io as connect, type Socket as ClientSocket } from "socket.io-client";
import { messageFrame } from "../../src/gateway/engine/direct-write.js";
import { recoveryAdapter, type RecoveryAdapter } from "../../src/gateway/engine/recovery-adapter.js";
import { WriteCoalescer } from "../../src/gateway/engine/write-coalescer.js";

/** The frame socket.io-adapter precomputes for a main-namespace event without ack or binary, through its own encoder and ws. */
function stockFrame(data: unknown[]): Buffer {
  const stock = new Server();
  let frame: Buffer | undefined;
  const nsp = stock.of("/");
  const member = {
    id: "member",
    client: {
      writeToEngine: (_packets: unknown[], opts: { wsPreEncodedFrame?: Buffer[] }) => {
        frame = opts.wsPreEncodedFrame === undefined ? undefined : Buffer.concat(opts.wsPreEncodedFrame);
      },
    },
  };
  (nsp.sockets as unknown as Map<string, unknown>).set("member", member);
  void nsp.adapter.addAll("member", new Set(["member"]));
  nsp.adapter.broadcast({ type: 2, data }, { rooms: new Set(["member"]), except: new Set(), flags: { local: true } });
  assert.ok(frame !== undefined, "the stock adapter precomputed a frame");
  return frame;
}

test("a direct frame is byte for byte the frame socket.io-adapter precomputes for the same event", () => {
  fc.assert(
    fc.property(fc.string(), fc.jsonValue(), fc.string({ unit: "binary" }), (event, payload, text) => {
      const data = [event, payload, text, "1"];
      assert.ok(messageFrame(JSON.stringify(data)).equals(stockFrame(data)));
    }),
    { numRuns: 300 },
  );
  // Across the WebSocket length encodings: up to 125 bytes in the first header byte, up to 65,535 in two more, then eight.
  for (const boundary of [125, 65_535]) {
    for (let length = boundary - 24; length <= boundary + 3; length++) {
      const data = ["payment", "é".repeat(length >> 2) + "x".repeat(length % 4)];
      const ours = messageFrame(JSON.stringify(data));
      assert.ok(ours.equals(stockFrame(data)), `a frame around ${boundary} bytes (${ours.length})`);
    }
  }
});

let http: HttpServer;
let io: Server;
let url: string;
let writes: WriteCoalescer;
const clients: ClientSocket[] = [];
/** Packets Engine.IO made for any connection: a direct write makes none. */
let packetsMade = 0;

before(async () => {
  http = createServer();
  io = new Server(http, {
    path: "/ws/v1",
    adapter: recoveryAdapter({ maxPackets: 1000 }),
    connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: true },
  });
  writes = new WriteCoalescer(io);
  io.engine.on("connection", (conn: NodeJS.EventEmitter) => conn.on("packetCreate", () => packetsMade++));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

after(async () => {
  (io.of("/").adapter as RecoveryAdapter).close();
  await new Promise<void>((resolve) => void io.close(() => resolve()));
});

function adapter(): RecoveryAdapter {
  return io.of("/").adapter as RecoveryAdapter;
}

/** Connects a real client and resolves with the server's socket for it, in `room`. */
async function member(room: string, transports: Array<"websocket" | "polling"> = ["websocket"]): Promise<{ client: ClientSocket; socket: Socket }> {
  const connected = new Promise<Socket>((resolve) => io.once("connection", resolve));
  const client = connect(url, { path: "/ws/v1", transports, reconnection: false, forceNew: true });
  clients.push(client);
  const socket = await connected;
  if (!client.connected) await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  await socket.join(room);
  return { client, socket };
}

function nextEvent(client: ClientSocket, event: string): Promise<unknown[]> {
  return new Promise((resolve) => client.once(event, (...args: unknown[]) => resolve(args)));
}

function payment(data: unknown): { type: number; data: unknown[] } {
  return { type: 2, data: ["payment", data] };
}

test("an event for a room's one idle WebSocket member goes out as a frame, without an Engine.IO packet, and arrives whole", async () => {
  const { client } = await member("t:sole");
  const sent = { amountRaw: "18446744073709551615", memo: "naïve — 支払い ✓ \u{1F4B8}" };
  const arrived = nextEvent(client, "payment");
  const before = packetsMade;
  adapter().sendToSoleMember(payment(sent), "t:sole", writes);
  const [received, offset] = await arrived;
  assert.deepEqual(received, sent);
  assert.match(String(offset), /^[0-9]+$/, "the recovery offset rides along as the last argument");
  assert.equal(packetsMade, before, "Engine.IO made no packet for it");
});

test("within a turn, a frame, a packet Engine.IO queued after it and a later event arrive in the order they were sent", async () => {
  const { client, socket } = await member("t:turn");
  const order: unknown[] = [];
  const all = new Promise<void>((resolve) => {
    client.on("probe", (text: string) => order.push(text));
    client.on("payment", (data: { n: number }) => {
      order.push(data.n);
      if (data.n === 2) resolve();
    });
  });
  const before = packetsMade;
  adapter().sendToSoleMember(payment({ n: 1 }), "t:turn", writes);
  socket.emit("probe", "queued between");
  adapter().sendToSoleMember(payment({ n: 2 }), "t:turn", writes);
  assert.equal(packetsMade, before + 2, "the probe and the event behind it went through Engine.IO");
  await all;
  assert.deepEqual(order, [1, "queued between", 2]);
});

test("behind packets Engine.IO holds for a busy member, the event goes the stock way and arrives after them", async () => {
  const { client, socket } = await member("t:held");
  const conn = socket.conn as unknown as { transport: { writable: boolean }; flush(): void };
  const order: string[] = [];
  const both = new Promise<void>((resolve) => {
    client.on("probe", () => order.push("probe"));
    client.on("payment", () => {
      order.push("payment");
      resolve();
    });
  });
  // As while a previous write is still in progress.
  conn.transport.writable = false;
  socket.emit("probe", "queued first");
  const before = packetsMade;
  adapter().sendToSoleMember(payment({ n: 1 }), "t:held", writes);
  assert.equal(packetsMade, before + 1, "queued through Engine.IO");
  conn.transport.writable = true;
  conn.flush();
  await both;
  assert.deepEqual(order, ["probe", "payment"]);
});

test("a member on HTTP long-polling, and a room of two, get the event the stock way", async () => {
  const { client: polling } = await member("t:polling", ["polling"]);
  const before = packetsMade;
  const arrived = nextEvent(polling, "payment");
  adapter().sendToSoleMember(payment({ n: 2 }), "t:polling", writes);
  assert.deepEqual((await arrived)[0], { n: 2 });
  assert.equal(packetsMade, before + 1);

  const { client: first } = await member("t:pair");
  const { client: second } = await member("t:pair");
  const both = Promise.all([nextEvent(first, "payment"), nextEvent(second, "payment")]);
  adapter().sendToSoleMember(payment({ n: 3 }), "t:pair", writes);
  const [a, b] = await both;
  assert.deepEqual([a[0], b[0]], [{ n: 3 }, { n: 3 }]);
});

test("an event sent as a frame is kept for recovery as any broadcast is", async () => {
  const { client } = await member("t:kept");
  const first = payment({ n: 1 });
  adapter().broadcast(first, { rooms: new Set(["t:kept"]), except: new Set(), flags: { local: true } });
  await nextEvent(client, "payment");
  const direct = payment({ n: 2, text: "日本語" });
  const arrived = nextEvent(client, "payment");
  adapter().sendToSoleMember(direct, "t:kept", writes);
  await arrived;
  adapter().persistSession({ sid: "gone", pid: "p-kept", rooms: ["t:kept"], data: {} });
  const session = await adapter().restoreSession("p-kept", String(first.data.at(-1)));
  assert.ok(session);
  assert.deepEqual(session.missedPackets, [direct.data]);
});

test("frames a member does not read wait in its TCP socket, where the slow-consumer cap counts them", async () => {
  const { client, socket } = await member("t:stalled");
  // The client stops reading its TCP socket: the kernel's buffers fill, then bytes wait in the server's socket.
  const engine = client.io.engine as unknown as { transport: { ws?: { _socket?: { pause(): void } } } };
  const tcp = engine.transport.ws?._socket;
  assert.ok(tcp !== undefined, "the client's TCP socket");
  tcp.pause();
  const ws = (socket.conn as unknown as { transport: { socket: { bufferedAmount: number } } }).transport.socket;
  const large = "x".repeat(1 << 20);
  let sent = 0;
  while (ws.bufferedAmount === 0) {
    adapter().sendToSoleMember(payment(large), "t:stalled", writes);
    // The frames go out at the end of the turn.
    await new Promise((resolve) => setImmediate(resolve));
    sent++;
    assert.ok(sent < 256, "256 MiB went out without any waiting in the socket");
  }
  assert.ok(sent > 1, "the first megabyte fits the kernel's buffers");
});
