import assert from "node:assert/strict";
import { test } from "node:test";
import { WriteCoalescer } from "../../src/gateway/engine/write-coalescer.js";

/** A websocket Engine.IO connection that logs what the coalescer does to it. */
function fakeConnection(name: string, log: string[], transportName = "websocket") {
  const conn = {
    transport: {
      name: transportName,
      writable: true,
      socket: { _socket: { cork: () => log.push(`cork ${name}`), uncork: () => log.push(`uncork ${name}`) } },
    },
    flush: () => log.push(`flush ${name} writable=${conn.transport.writable}`),
  };
  return conn;
}

function fakeServer(rooms: Record<string, string[]>, conns: Record<string, ReturnType<typeof fakeConnection>>) {
  return {
    sockets: {
      adapter: { rooms: new Map(Object.entries(rooms).map(([room, ids]) => [room, new Set(ids)])) },
      sockets: new Map(Object.entries(conns).map(([id, conn]) => [id, { conn }])),
    },
  };
}

test("deliveries of one group commit are held and flushed once per socket, corked, before the HTTP answers", async () => {
  const log: string[] = [];
  const a = fakeConnection("a", log);
  const b = fakeConnection("b", log);
  const polling = fakeConnection("p", log, "polling");
  const coalescer = new WriteCoalescer(fakeServer({ "t:x": ["a", "b", "p"], "t:y": ["b"] }, { a, b, p: polling }));

  // A group commit resolves its requests together; each resumes in its own
  // microtask, delivers, then answers its HTTP request in a later one.
  const requests = [["t:x"], ["t:y", "t:x"]].map(
    (rooms, index) =>
      Promise.resolve()
        .then(() => {
          for (const room of rooms) coalescer.hold(room);
          log.push(`delivered ${index}`);
          assert.equal(a.transport.writable, false, "held while the group delivers");
        })
        .then(() => log.push(`answered ${index}`)),
  );
  await Promise.all(requests);

  assert.deepEqual(log, [
    "delivered 0",
    "delivered 1",
    "cork a",
    "flush a writable=true",
    "uncork a",
    "cork b",
    "flush b writable=true",
    "uncork b",
    "answered 0",
    "answered 1",
  ]);
  assert.equal(polling.transport.writable, true, "a polling transport is never held");
});

test("a connection that changed transport while held is not reopened", async () => {
  const log: string[] = [];
  const a = fakeConnection("a", log);
  const coalescer = new WriteCoalescer(fakeServer({ "t:x": ["a"] }, { a }));
  const held = a.transport;
  coalescer.hold("t:x");
  a.transport = { ...held, writable: true };
  await Promise.resolve();
  assert.deepEqual(log, []);
  assert.equal(held.writable, false);
});

test("a one-member room held again and again in one turn is flushed once, and held again the next turn", async () => {
  const log: string[] = [];
  const a = fakeConnection("a", log);
  const b = fakeConnection("b", log);
  const coalescer = new WriteCoalescer(fakeServer({ "t:a": ["a"], "t:b": ["b"] }, { a, b }));
  for (let i = 0; i < 3; i++) {
    coalescer.hold("t:a");
    coalescer.hold("t:b");
  }
  assert.equal(a.transport.writable, false);
  await Promise.resolve();
  assert.deepEqual(log, ["cork a", "flush a writable=true", "uncork a", "cork b", "flush b writable=true", "uncork b"]);
  log.length = 0;
  coalescer.hold("t:a");
  assert.equal(a.transport.writable, false, "a later turn holds it again");
  await Promise.resolve();
  assert.deepEqual(log, ["cork a", "flush a writable=true", "uncork a"]);
});

test("a member mid-write (its transport busy) is left to Engine.IO, which flushes it when the write ends", async () => {
  const log: string[] = [];
  const a = fakeConnection("a", log);
  a.transport.writable = false;
  const coalescer = new WriteCoalescer(fakeServer({ "t:a": ["a"] }, { a }));
  coalescer.hold("t:a");
  await Promise.resolve();
  assert.deepEqual(log, []);
  assert.equal(a.transport.writable, false, "not made writable by the coalescer");
});
