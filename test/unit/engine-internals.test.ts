import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { Server, Socket } from "socket.io";
import { Adapter, type BroadcastOptions } from "socket.io-adapter";
import { io as connect, type Socket as ClientSocket } from "socket.io-client";

// The files under src/gateway/engine/ reach into Socket.IO, Engine.IO and ws past their documented API, for speed
// and memory (docs/decisions/socket-io-internals.md). These checks run against the installed versions, on real
// objects, so an upgrade that changes one of those internals fails here, naming the file and what it relied on,
// instead of quietly turning a patch into a no-op or a fault.

const WHY = "see docs/decisions/socket-io-internals.md and adapt the file, or drop it";

function relies(file: string, internal: string, holds: boolean, found?: unknown): void {
  const seen = found === undefined ? "" : ` (found: ${describe(found)})`;
  assert.ok(holds, `src/gateway/engine/${file} relies on ${internal}, which the installed Socket.IO/Engine.IO/ws no longer provides${seen}; ${WHY}`);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `array of ${value.length}`;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value === "string") return JSON.stringify(value.slice(0, 40));
  return typeof value;
}

interface Seen {
  /** What the `headers` listener saw of the upgrade request, before anything was written. */
  headers?: { upgrade: string | undefined; bytesWritten: number; corkable: boolean };
  /** The engine connection at Engine.IO's `connection` event. */
  engineConnection?: Record<string, unknown>;
  /** Once-listeners on the TCP socket's `close` when Socket.IO connects. */
  closeOnceListeners?: number;
  broadcasts: BroadcastOptions[];
  deletedRooms: string[];
}

const seen: Seen = { broadcasts: [], deletedRooms: [] };

/** An adapter like the recovery adapter: it records how Socket.IO broadcasts, and has the session hooks the recovery adapter overrides. */
class RecordingAdapter extends Adapter {
  override broadcast(packet: Parameters<Adapter["broadcast"]>[0], opts: BroadcastOptions): void {
    seen.broadcasts.push(opts);
    super.broadcast(packet, opts);
  }
}

let http: HttpServer;
let io: Server;
let url: string;
const clients: ClientSocket[] = [];

before(async () => {
  http = createServer();
  io = new Server(http, {
    path: "/ws/v1",
    adapter: RecordingAdapter as unknown as typeof Adapter,
    connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: true },
  });
  io.engine.on("headers", (_headers: unknown, request: IncomingMessage) => {
    if (request.headers.upgrade === undefined || seen.headers !== undefined) return;
    seen.headers = {
      upgrade: request.headers.upgrade,
      bytesWritten: request.socket.bytesWritten,
      corkable: typeof request.socket.cork === "function" && typeof request.socket.uncork === "function",
    };
  });
  io.engine.on("connection", (conn: Record<string, unknown>) => {
    seen.engineConnection ??= conn;
  });
  io.of("/").adapter.on("delete-room", (room: string) => seen.deletedRooms.push(room));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

after(async () => {
  for (const client of clients) client.disconnect();
  await new Promise<void>((resolve) => void io.close(() => resolve()));
});

/** Connects a real client over WebSocket and resolves with the server's socket for it. */
async function connectClient(): Promise<{ client: ClientSocket; socket: Socket }> {
  const connected = new Promise<Socket>((resolve) => {
    io.once("connection", (socket) => {
      const tcp = (socket.conn as unknown as { transport?: { socket?: { _socket?: NodeJS.EventEmitter } } }).transport?.socket?._socket;
      seen.closeOnceListeners ??= tcp?.rawListeners("close").filter((l) => typeof (l as { listener?: unknown }).listener === "function").length;
      resolve(socket);
    });
  });
  const client = connect(url, { path: "/ws/v1", transports: ["websocket"], reconnection: false });
  clients.push(client);
  const socket = await connected;
  if (!client.connected) await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  return { client, socket };
}

test("handshake-writes.ts: Engine.IO emits `headers` with the upgrade request before the 101 is written", async () => {
  await connectClient();
  relies("handshake-writes.ts", "a `headers` event with the WebSocket upgrade request", seen.headers !== undefined);
  relies("handshake-writes.ts", "the request's `upgrade` header at `headers`", seen.headers?.upgrade?.toLowerCase() === "websocket", seen.headers?.upgrade);
  relies("handshake-writes.ts", "`headers` coming before ws writes the 101 (nothing written yet)", seen.headers?.bytesWritten === 0, seen.headers?.bytesWritten);
  relies("handshake-writes.ts", "a corkable TCP socket on the upgrade request", seen.headers?.corkable === true);
});

test("engine-connection.ts: the Engine.IO connection's request, write buffer, flush and transport", async () => {
  const { socket } = await connectClient();
  const first = seen.engineConnection;
  relies("engine-connection.ts", "Engine.IO's `connection` event carrying the connection", first !== undefined);
  relies("engine-connection.ts", "`request` on a new Engine.IO connection", typeof first?.request === "object" && first.request !== null, first?.request);
  const conn = socket.conn as unknown as Record<string, unknown>;
  relies("engine-connection.ts", "the connection's `writeBuffer` array", Array.isArray(conn.writeBuffer), conn.writeBuffer);
  relies("engine-connection.ts", "the connection's `flush()`", typeof conn.flush === "function", conn.flush);
  relies("engine-connection.ts", "the connection's `close(discard)`", typeof conn.close === "function", conn.close);
  const transport = conn.transport as Record<string, unknown> | undefined;
  relies("engine-connection.ts", "the connection's `transport`", typeof transport === "object" && transport !== null, transport);
  relies("engine-connection.ts", "`transport.name` (\"websocket\")", transport?.name === "websocket", transport?.name);
  relies("engine-connection.ts", "the boolean `transport.writable`", typeof transport?.writable === "boolean", transport?.writable);
  const ws = transport?.socket as Record<string, unknown> | undefined;
  relies("engine-connection.ts", "the ws socket at `transport.socket`", typeof ws === "object" && ws !== null, ws);
  relies("engine-connection.ts", "ws's numeric `bufferedAmount`", typeof ws?.bufferedAmount === "number", ws?.bufferedAmount);
  relies("engine-connection.ts", "ws's `terminate()`", typeof ws?.terminate === "function", ws?.terminate);
  const tcp = ws?._socket as Record<string, unknown> | undefined;
  relies("engine-connection.ts", "ws's TCP socket at `_socket` with cork/uncork", typeof tcp?.cork === "function" && typeof tcp?.uncork === "function");

  // The connection limiter's one listener for all connections reads the connection from `this`.
  const closedWith = new Promise<unknown>((resolve) => {
    (socket.conn as unknown as { on(event: string, listener: (this: unknown) => void): void }).on("close", function (this: unknown) {
      resolve(this);
    });
  });
  socket.conn.close();
  relies("engine-connection.ts", "`close` emitted with the connection as `this`", (await closedWith) === socket.conn);
});

test("direct-write.ts: the connection's state, the transport's options, ws's ready state, sender queue and TCP socket", async () => {
  const { socket } = await connectClient();
  const conn = socket.conn as unknown as Record<string, unknown>;
  relies("direct-write.ts", 'the connection\'s `readyState` ("open")', conn.readyState === "open", conn.readyState);
  relies("direct-write.ts", "the connection's boolean `upgrading`", conn.upgrading === false, conn.upgrading);
  const transport = conn.transport as { opts?: Record<string, unknown>; socket?: Record<string, unknown> };
  relies("direct-write.ts", "the transport's `opts` with `perMessageDeflate` off", transport.opts !== undefined && !transport.opts.perMessageDeflate, transport.opts);
  const ws = transport.socket;
  relies("direct-write.ts", "ws's numeric `readyState` (1 when open)", ws?.readyState === 1, ws?.readyState);
  const sender = ws?._sender as Record<string, unknown> | undefined;
  relies("direct-write.ts", "ws's Sender at `_sender`, idle (`_state` 0) with an empty `_queue`", sender?._state === 0 && Array.isArray(sender._queue) && sender._queue.length === 0, sender);
  const tcp = ws?._socket as Record<string, unknown> | undefined;
  relies("direct-write.ts", "a writable TCP socket at `_socket`", tcp?.writable === true && typeof tcp.write === "function", tcp);
  const internals = Socket.prototype as unknown as { notifyOutgoingListeners?: unknown };
  relies("recovery-adapter.ts", "Socket#notifyOutgoingListeners(packet), as the stock broadcast calls it", typeof internals.notifyOutgoingListeners === "function");
});

test("opening-request.ts: one `once(\"close\")` listener (the response stand-in) on the TCP socket, and the handshake's fields", async () => {
  const { socket } = await connectClient();
  relies("opening-request.ts", "Engine.IO's response stand-in: exactly one `once` listener on the TCP socket's `close`", seen.closeOnceListeners === 1, seen.closeOnceListeners);
  const handshake = socket.handshake as unknown as Record<string, unknown>;
  relies("opening-request.ts", "`handshake.headers`", typeof handshake.headers === "object", handshake.headers);
  relies("opening-request.ts", "`handshake.query`", typeof handshake.query === "object", handshake.query);
  relies("opening-request.ts", "the string `handshake.url`", typeof handshake.url === "string", handshake.url);
  relies("opening-request.ts", "the string `handshake.time`", typeof handshake.time === "string", handshake.time);
  relies("opening-request.ts", "`handshake.auth`", typeof handshake.auth === "object", handshake.auth);
});

test("write-coalescer.ts: a transport set unwritable queues in `writeBuffer`, and `flush()` sends it", async () => {
  const { client, socket } = await connectClient();
  void socket.join("t:coalesced");
  const rooms = (io.sockets.adapter as unknown as { rooms?: unknown }).rooms;
  relies("write-coalescer.ts", "the adapter's `rooms` map of sets", rooms instanceof Map && (rooms.get("t:coalesced") as unknown) instanceof Set);
  relies("write-coalescer.ts", "the namespace's `sockets` map holding each socket", io.sockets.sockets.get(socket.id) === socket);
  const conn = socket.conn as unknown as { transport: { writable: boolean }; writeBuffer: unknown[]; flush(): void };
  const received = new Promise<string>((resolve) => client.once("probe", (value: string) => resolve(value)));
  conn.transport.writable = false;
  socket.emit("probe", "held");
  relies("write-coalescer.ts", "packets queuing in `writeBuffer` while `transport.writable` is false", conn.writeBuffer.length > 0, conn.writeBuffer);
  conn.transport.writable = true;
  conn.flush();
  relies("write-coalescer.ts", "`flush()` writing the held packets once the transport is writable again", conn.writeBuffer.length === 0, conn.writeBuffer);
  assert.equal(await received, "held");
});

test("recovery-adapter.ts: the adapter's session hooks, the namespace's recovery options, and socket.emit as a broadcast", async () => {
  for (const method of ["persistSession", "restoreSession", "broadcast", "delAll", "close"] as const) {
    relies("recovery-adapter.ts", `socket.io-adapter's Adapter#${method}`, typeof Adapter.prototype[method] === "function");
  }
  const nsp = io.of("/").adapter.nsp as unknown as { server?: { opts?: { connectionStateRecovery?: { maxDisconnectionDuration?: unknown } } } };
  const window = nsp.server?.opts?.connectionStateRecovery?.maxDisconnectionDuration;
  relies("recovery-adapter.ts", "`nsp.server.opts.connectionStateRecovery.maxDisconnectionDuration`", window === 60_000, window);
  const stockApply = (Adapter.prototype as unknown as { apply?: unknown }).apply;
  relies("recovery-adapter.ts", "socket.io-adapter's private Adapter#apply(opts, callback)", typeof stockApply === "function" && stockApply.length === 2);
  const encoder = (io.of("/").adapter as unknown as { encoder?: { encode?: unknown; replacer?: unknown } }).encoder;
  relies("recovery-adapter.ts", "the adapter's `encoder` (socket.io-parser's, no replacer)", typeof encoder?.encode === "function" && encoder.replacer === undefined, encoder);
  const text = typeof encoder?.encode === "function" ? (encoder.encode as (packet: unknown) => unknown)({ type: 2, nsp: "/", data: ["e", { a: 1 }] }) : undefined;
  relies("recovery-adapter.ts", 'socket.io-parser encoding a main-namespace event without id or binary as "2" + JSON', JSON.stringify(text) === JSON.stringify(['2["e",{"a":1}]']), text);
  const { socket } = await connectClient();
  seen.broadcasts.length = 0;
  socket.emit("probe", "to-one");
  const own = seen.broadcasts.find((opts) => opts.rooms.has(socket.id));
  relies("recovery-adapter.ts", "Socket.IO sending a socket.emit as a broadcast to the socket's own room when recovery is on", own !== undefined, seen.broadcasts);
});

test("compact-listeners.ts: the socket, its connection, transport and ws socket keep their listeners in `{ __proto__: null }` tables", async () => {
  const { socket } = await connectClient();
  const conn = socket.conn as unknown as { transport: { socket?: unknown } };
  const parts: Array<[string, unknown]> = [
    ["the Socket.IO socket", socket],
    ["the Engine.IO connection", conn],
    ["the transport", conn.transport],
    ["the ws socket", conn.transport.socket],
  ];
  for (const [part, emitter] of parts) {
    const table = (emitter as { _events?: unknown } | undefined)?._events;
    relies("compact-listeners.ts", `EventEmitter's \`_events\` table on ${part}`, typeof table === "object" && table !== null, table);
    relies("compact-listeners.ts", `a prototype-less \`_events\` on ${part}`, Object.getPrototypeOf(table) === null);
  }
  const table = (socket as unknown as { _events: Record<string, unknown> })._events;
  socket.on("probe", () => undefined);
  relies("compact-listeners.ts", "EventEmitter adding a listener as a property of `_events`", typeof table.probe === "function", table.probe);
  const cleanupFn = (conn as { cleanupFn?: unknown }).cleanupFn;
  relies("compact-listeners.ts", "Engine.IO's `cleanupFn`, one function for the WebSocket transport", Array.isArray(cleanupFn) && cleanupFn.length === 1 && typeof cleanupFn[0] === "function", cleanupFn);
  const callbacks = (socket.client as unknown as { decoder?: { _callbacks?: Record<string, unknown> } }).decoder?._callbacks;
  const decoded = callbacks?.$decoded;
  relies("compact-listeners.ts", "the decoder's `_callbacks.$decoded`, an array of one listener", Array.isArray(decoded) && decoded.length === 1 && typeof decoded[0] === "function", decoded);
});

test("socket-middleware.ts: `use` appends to the socket's `fns` array, which each event's middleware run reads", async () => {
  const { client, socket } = await connectClient();
  const fns = (socket as unknown as { fns?: unknown }).fns;
  relies("socket-middleware.ts", "the socket's middleware array `fns`", Array.isArray(fns), fns);
  const ran: string[] = [];
  socket.use((packet, next) => {
    ran.push(String(packet[0]));
    next();
  });
  const after = (socket as unknown as { fns?: unknown[] }).fns;
  relies("socket-middleware.ts", "`use` appending to `fns`", Array.isArray(after) && after.length === 1, after);
  (socket as unknown as { fns: unknown[] }).fns = [...(after ?? [])];
  const received = new Promise<void>((resolve) => socket.once("probe", () => resolve()));
  client.emit("probe");
  await received;
  relies("socket-middleware.ts", "a replaced `fns` array running for the next event", ran.includes("probe"), ran);
});

test("vacated-rooms.ts: the adapter emits `delete-room` when a room's last member leaves", async () => {
  const { socket } = await connectClient();
  void socket.join("t:vacated");
  void socket.leave("t:vacated");
  relies("vacated-rooms.ts", "the adapter's `delete-room` event", seen.deletedRooms.includes("t:vacated"), seen.deletedRooms);
});
