import assert from "node:assert/strict";
import { EventEmitter, errorMonitor } from "node:events";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInThisContext } from "node:vm";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type Socket } from "socket.io";
import { io as connect } from "socket.io-client";
import { compactConnectionListeners, compactListeners } from "../../src/gateway/engine/compact-listeners.js";

// V8's own answer to "is this object in fast mode", the point of compacting (the flag stays on: V8 parses the body lazily).
setFlagsFromString("--allow-natives-syntax");
const hasFastProperties = runInThisContext("(object) => %HasFastProperties(object)") as (object: object) => boolean;

function tableOf(emitter: EventEmitter): object {
  return (emitter as unknown as { _events: object })._events;
}

function emitterWith(names: readonly string[]): { emitter: EventEmitter; calls: string[] } {
  const emitter = new EventEmitter();
  const calls: string[] = [];
  for (const name of names) emitter.on(name, (value: string) => calls.push(`${name}:${value}`));
  return { emitter, calls };
}

test("a compacted table is in fast mode and its emitter calls the same listeners, in order", () => {
  const { emitter, calls } = emitterWith(["close", "data", "error", "drain", "packet", "ready"]);
  const second = (value: string) => calls.push(`data again:${value}`);
  emitter.on("data", second);
  assert.equal(hasFastProperties(tableOf(emitter)), false, "EventEmitter starts its table as a hash table");
  compactListeners(emitter);
  assert.equal(hasFastProperties(tableOf(emitter)), true);
  assert.deepEqual(emitter.eventNames(), ["close", "data", "error", "drain", "packet", "ready"]);
  assert.equal(emitter.listenerCount("data"), 2);
  assert.equal(emitter.emit("data", "x"), true);
  assert.equal(emitter.emit("ready", "y"), true);
  assert.deepEqual(calls, ["data:x", "data again:x", "ready:y"]);
  // The copied array of an event's listeners still grows and shrinks in place.
  emitter.prependListener("data", (value: string) => calls.push(`data first:${value}`));
  emitter.off("data", second);
  emitter.emit("data", "z");
  assert.deepEqual(calls.slice(3), ["data first:z", "data:z"]);
  assert.equal(emitter.listenerCount("data"), 2);
});

test("after compacting, listeners are added, fire once and are removed as before", () => {
  const { emitter, calls } = emitterWith(["close", "error", "message"]);
  compactListeners(emitter);
  emitter.once("message", (value: string) => calls.push(`once:${value}`));
  emitter.on("drain", (value: string) => calls.push(`drain:${value}`));
  emitter.emit("message", "a");
  emitter.emit("message", "b");
  emitter.emit("drain", "c");
  assert.deepEqual(calls, ["message:a", "once:a", "message:b", "drain:c"]);
  const closeListener = emitter.listeners("close")[0] as (...args: unknown[]) => void;
  emitter.off("close", closeListener);
  assert.equal(emitter.emit("close", "gone"), false);
  assert.equal(emitter.listenerCount("close"), 0);
  emitter.removeAllListeners();
  assert.deepEqual(emitter.eventNames(), []);
  emitter.on("message", (value: string) => calls.push(`again:${value}`));
  emitter.emit("message", "d");
  assert.equal(calls.at(-1), "again:d");
});

test("names of Object.prototype's members find no listener in a compacted table", () => {
  const { emitter, calls } = emitterWith(["subscribe", "error"]);
  compactListeners(emitter);
  for (const name of ["toString", "constructor", "__proto__", "hasOwnProperty", "valueOf"]) {
    assert.equal(emitter.emit(name, "x"), false, name);
    assert.equal(emitter.listenerCount(name), 0, name);
  }
  assert.deepEqual(calls, []);
});

test("an `error` without listeners still throws, and symbol-named listeners are kept", () => {
  const emitter = new EventEmitter();
  const monitored: unknown[] = [];
  emitter.on(errorMonitor, (error: unknown) => monitored.push(error));
  emitter.on("close", () => undefined);
  compactListeners(emitter);
  assert.throws(() => emitter.emit("error", new Error("boom")), /boom/);
  assert.equal(monitored.length, 1);
});

test("compacting twice, or an emitter without listeners, changes nothing", () => {
  const { emitter } = emitterWith(["close", "error"]);
  compactListeners(emitter);
  const table = tableOf(emitter);
  compactListeners(emitter);
  assert.equal(tableOf(emitter), table);
  const empty = new EventEmitter();
  compactListeners(empty);
  assert.equal(empty.emit("close"), false);
});

/** The four tables a connected socket keeps: the socket's, its connection's, its transport's and the ws socket's. */
function connectionTables(socket: Socket): object[] {
  const conn = socket.conn as unknown as EventEmitter & { transport: EventEmitter & { socket: EventEmitter } };
  return [tableOf(socket), tableOf(conn), tableOf(conn.transport), tableOf(conn.transport.socket)];
}

for (const transports of [["websocket"], ["polling", "websocket"]]) {
  test(`a real connection over ${transports.join(" then ")} ends with every table compacted, and its events still flow both ways`, async (t) => {
    const http = createServer();
    const io = new Server(http, { path: "/ws/v1" });
    t.after(async () => {
      await new Promise<void>((resolve) => void io.close(() => resolve()));
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const serverSocket = new Promise<Socket>((resolve) => {
      io.on("connection", (socket) => {
        socket.on("subscribe", (payload: unknown, acknowledge: (answer: unknown) => void) => acknowledge({ echoed: payload }));
        compactConnectionListeners(socket);
        resolve(socket);
      });
    });
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const client = connect(url, { path: "/ws/v1", transports, reconnection: false });
    t.after(() => client.disconnect());
    const socket = await serverSocket;
    if (socket.conn.transport.name !== "websocket") await new Promise((resolve) => socket.conn.once("upgrade", resolve));
    assert.equal(socket.conn.transport.name, "websocket");
    for (const table of connectionTables(socket)) assert.equal(hasFastProperties(table), true);
    assert.deepEqual(await client.timeout(5_000).emitWithAck("subscribe", { trackingId: "x" }), { echoed: { trackingId: "x" } });
    const pushed = new Promise((resolve) => client.once("ack", resolve));
    socket.emit("ack", { message: "pushed" });
    assert.deepEqual(await pushed, { message: "pushed" });
    const transport = socket.conn.transport as unknown as EventEmitter;
    const closed = new Promise((resolve) => socket.once("disconnect", resolve));
    const connClosed = new Promise((resolve) => socket.conn.once("close", resolve));
    client.disconnect();
    assert.equal(await closed, "client namespace disconnect");
    await connClosed;
    // Engine.IO's cleanup list, cut to size, still took the connection's listeners off the transport.
    assert.equal(transport.listenerCount("packet"), 0);
  });
}
