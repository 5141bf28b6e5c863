import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";
import fc from "fast-check";
import { Server } from "socket.io";
import { SessionAwareAdapter, type Adapter } from "socket.io-adapter";
import { recoveryAdapter, type RecoveryAdapter } from "../../src/gateway/engine/recovery-adapter.js";

const WINDOW_MS = 120_000;
const MAX_PACKETS = 5_000;
let io: Server;

beforeEach(() => {
  mock.timers.enable({ apis: ["Date", "setInterval"], now: 1_000_000 });
  io = new Server({ adapter: recoveryAdapter({ maxPackets: MAX_PACKETS }), connectionStateRecovery: { maxDisconnectionDuration: WINDOW_MS } });
});

afterEach(() => {
  adapter().close();
  mock.timers.reset();
});

function adapter(): RecoveryAdapter {
  return io.of("/").adapter as RecoveryAdapter;
}

/** Broadcasts an event as Socket.IO does, and returns its data (with the offset the adapter appended). */
function emit(rooms: string[], args: unknown[], extra: { except?: string[]; id?: number; volatile?: boolean } = {}): unknown[] {
  const packet = { type: 2, data: [...args], ...(extra.id === undefined ? {} : { id: extra.id }) };
  adapter().broadcast(packet, {
    rooms: new Set(rooms),
    except: new Set(extra.except ?? []),
    flags: extra.volatile ? { volatile: true } : {},
  });
  return packet.data;
}

function persist(pid: string, rooms: string[]): void {
  adapter().persistSession({ sid: `sid-${pid}`, pid, rooms, data: { kept: pid } });
}

test("a returning session gets, in order, what its rooms missed after its offset, as it was sent", async () => {
  const first = emit(["t:a"], ["payment", { amount: "18446744073709551615" }]);
  assert.deepEqual(first, ["payment", { amount: "18446744073709551615" }, "1"], "offsets are consecutive strings");
  persist("p1", ["sid-p1", "t:a"]);
  const toA = emit(["t:a"], ["payment", { n: 2 }]);
  emit(["t:b"], ["payment", { n: 3 }]);
  const toAll = emit([], ["notice", "everyone"]);
  emit(["t:a", "t:b"], ["payment", { n: 5 }], { except: ["sid-p1"] });
  const toOwn = emit(["sid-p1"], ["ack", { text: "own room" }]);
  const toBoth = emit(["t:b", "t:a"], ["payment", { n: 7 }]);

  const session = await adapter().restoreSession("p1", "1");
  assert.ok(session);
  assert.equal(session.sid, "sid-p1");
  assert.deepEqual(session.rooms, ["sid-p1", "t:a"]);
  assert.deepEqual(session.data, { kept: "p1" });
  assert.deepEqual(session.missedPackets, [toA, toAll, toOwn, toBoth]);
  assert.equal("disconnectedAt" in session, false);

  // Restored once; the socket, dropped again, is persisted again (as Socket.IO does) before its next return.
  assert.equal(await adapter().restoreSession("p1", "1"), null, "a session is restored at most once");
  persist("p1", ["sid-p1", "t:a"]);
  const later = await adapter().restoreSession("p1", String(toAll.at(-1)));
  assert.deepEqual(later.missedPackets, [toOwn, toBoth]);
});

test("an observer is told when a session is held and when it is released (restored, expired or discarded)", async () => {
  adapter().close();
  const events: string[] = [];
  io = new Server({
    adapter: recoveryAdapter({
      maxPackets: MAX_PACKETS,
      sessions: {
        held: (pid, rooms, data) => events.push(`held ${pid} ${rooms.join(",")} ${JSON.stringify(data)}`),
        released: (pid) => events.push(`released ${pid}`),
      },
    }),
    connectionStateRecovery: { maxDisconnectionDuration: WINDOW_MS },
  });
  emit(["t:a"], ["payment", {}]);
  persist("p1", ["t:a"]);
  persist("p2", ["t:b"]);
  persist("p3", ["t:c"]);
  assert.ok(await adapter().restoreSession("p1", "1"));
  adapter().discardSession("p2");
  assert.equal(await adapter().restoreSession("p2", "1"), null, "a discarded session is gone");
  assert.equal(adapter().keptSessions, 1);
  mock.timers.tick(WINDOW_MS + 60_000);
  assert.equal(adapter().keptSessions, 0);
  assert.deepEqual(events, [
    'held p1 t:a {"kept":"p1"}',
    'held p2 t:b {"kept":"p2"}',
    'held p3 t:c {"kept":"p3"}',
    "released p1",
    "released p3",
  ]);
});

test("an unknown session or an offset that is not kept is not recoverable", async () => {
  emit(["t:a"], ["payment", {}]);
  persist("p1", ["t:a"]);
  assert.equal(await adapter().restoreSession("nobody", "1"), null);
  for (const offset of ["0", "2", "abc", "", "1e3", "-1", "99999999999999999999"]) {
    assert.equal(await adapter().restoreSession("p1", offset), null, `offset ${JSON.stringify(offset)}`);
  }
  assert.deepEqual((await adapter().restoreSession("p1", "1")).missedPackets, []);
});

test("packets with an ack callback and volatile packets are neither kept nor given an offset", () => {
  assert.deepEqual(emit(["t:a"], ["ask"], { id: 7 }), ["ask"]);
  assert.deepEqual(emit(["t:a"], ["tick"], { volatile: true }), ["tick"]);
  assert.equal(adapter().keptPackets, 0);
  assert.deepEqual(emit(["t:a"], ["payment"]), ["payment", "1"]);
  assert.equal(adapter().keptPackets, 1);
});

test("packets and sessions are kept for the recovery window and dropped after it", async () => {
  emit(["t:a"], ["payment", { n: 1 }]);
  persist("p1", ["t:a"]);
  mock.timers.tick(WINDOW_MS / 2);
  const second = emit(["t:a"], ["payment", { n: 2 }]);
  persist("p2", ["t:a"]);
  assert.equal(adapter().keptPackets, 2);

  mock.timers.tick(WINDOW_MS / 2 + 1);
  // The first packet and session are past the window; the next broadcast drops the packet, a restore the session.
  const third = emit(["t:a"], ["payment", { n: 3 }]);
  assert.equal(adapter().keptPackets, 2);
  assert.equal(await adapter().restoreSession("p1", "2"), null, "p1 disconnected more than a window ago");
  assert.equal(await adapter().restoreSession("p2", "1"), null, "offset 1 is no longer kept");
  assert.deepEqual((await adapter().restoreSession("p2", "2")).missedPackets, [third]);
  assert.equal(second.at(-1), "2");

  // With nothing broadcast, the periodic sweep drops what expired, and with it every room's offsets.
  mock.timers.tick(WINDOW_MS + 60_000);
  assert.equal(adapter().keptPackets, 0);
  assert.equal(adapter().indexedRooms, 0);
  assert.equal(await adapter().restoreSession("p2", "3"), null);
});

test("a long run of packets keeps offsets addressable after the dropped front is compacted away", async () => {
  for (let i = 0; i < 3000; i++) emit(["t:a"], ["payment", { i }]);
  mock.timers.tick(WINDOW_MS + 1);
  persist("p1", ["t:a"]);
  const kept = Array.from({ length: 10 }, (_, i) => emit(["t:a"], ["payment", { i: 3000 + i }]));
  assert.equal(adapter().keptPackets, 10);
  assert.deepEqual((await adapter().restoreSession("p1", "3005")).missedPackets, kept.slice(5));
});

test("a room's chain of kept offsets stays right as it grows, interleaved with another room's, and as the oldest go", async () => {
  const anchor = emit(["t:b"], ["payment", { anchor: true }]);
  const toA: unknown[][] = [];
  // Restored right at each length of t:a's chain, which t:b's packets interleave.
  for (let n = 1; n <= 40; n++) {
    toA.push(emit(["t:a"], ["payment", { n }]));
    if (n % 2 === 0) emit(["t:b"], ["payment", { n }]);
    if ([1, 2, 32, 33, 40].includes(n)) {
      persist("p1", ["t:a"]);
      assert.deepEqual((await adapter().restoreSession("p1", String(anchor.at(-1)))).missedPackets, toA, `${n} kept for t:a`);
    }
  }
  // The older half leaves the window: each room's chain now ends at an offset no longer kept.
  mock.timers.tick(WINDOW_MS / 2);
  const later = Array.from({ length: 3 }, (_, n) => emit([n === 1 ? "t:b" : "t:a"], ["payment", { later: n }]));
  const toC = emit(["t:c"], ["payment", { c: 1 }]);
  mock.timers.tick(WINDOW_MS / 2 + 1);
  const last = emit(["t:b"], ["payment", { last: true }]);
  assert.equal(adapter().keptPackets, 5);
  assert.equal(adapter().indexedRooms, 3);
  persist("p2", ["t:a", "t:b", "t:c"]);
  assert.deepEqual((await adapter().restoreSession("p2", String(later[0]!.at(-1)))).missedPackets, [
    ...later.slice(1),
    toC,
    last,
  ]);
  persist("p3", ["t:b"]);
  assert.deepEqual((await adapter().restoreSession("p3", String(later[0]!.at(-1)))).missedPackets, [later[1], last], "t:b's chain lost only its oldest");
});

test("past the packet cap the oldest packets go, whatever their age", async () => {
  persist("p1", ["t:a"]);
  const all = Array.from({ length: MAX_PACKETS + 3 }, (_, i) => emit(["t:a"], ["payment", { i }]));
  assert.equal(adapter().keptPackets, MAX_PACKETS);
  assert.equal(await adapter().restoreSession("p1", "3"), null, "offset 3 was dropped to make room");
  assert.deepEqual((await adapter().restoreSession("p1", "4")).missedPackets, all.slice(4));
});

test("a returning session misses exactly what it would with Socket.IO's stock adapter", async () => {
  const stockServer = new Server({ connectionStateRecovery: { maxDisconnectionDuration: WINDOW_MS } });
  const stock = stockServer.of("/").adapter as Adapter;
  assert.ok(stock instanceof SessionAwareAdapter);
  const rooms = ["s1", "s2", "t:a", "t:b", "t:c"];
  const broadcastArb = fc.record({
    to: fc.subarray(rooms, { maxLength: 3 }),
    except: fc.subarray(rooms, { maxLength: 2 }),
  });
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(broadcastArb, { minLength: 1, maxLength: 40 }),
        fc.subarray(rooms, { minLength: 1 }),
        fc.nat(),
        async (broadcasts, sessionRooms, at) => {
          const ours = recoveryAdapter({ maxPackets: MAX_PACKETS });
          const oursServer = new Server({ adapter: ours, connectionStateRecovery: { maxDisconnectionDuration: WINDOW_MS } });
          const mine = oursServer.of("/").adapter as RecoveryAdapter;
          const offsets: Array<[string, string]> = [];
          broadcasts.forEach(({ to, except }, n) => {
            const sent: Array<string> = [];
            for (const target of [stock, mine]) {
              const packet = { type: 2, data: ["event", { n }] as unknown[] };
              target.broadcast(packet, { rooms: new Set(to), except: new Set(except), flags: {} });
              sent.push(String(packet.data.at(-1)));
            }
            offsets.push([sent[0]!, sent[1]!]);
          });
          const pid = `pid-${Math.random()}`;
          for (const target of [stock, mine]) target.persistSession({ sid: "s1", pid, rooms: sessionRooms, data: undefined });
          const [stockOffset, ourOffset] = offsets[at % offsets.length]!;
          const expected = (await stock.restoreSession(pid, stockOffset)).missedPackets.map((data) => data.slice(0, -1));
          const actual = (await mine.restoreSession(pid, ourOffset)).missedPackets.map((data) => data.slice(0, -1));
          mine.close();
          assert.deepEqual(actual, expected);
        },
      ),
      { numRuns: 300 },
    );
  } finally {
    stock.close();
  }
});

test("a socket that leaves without a kept session lets go of its own room's packets; a kept session keeps them until discarded", async () => {
  for (const sid of ["sid-p1", "sid-p2", "sid-p3"]) adapter().addAll(sid, new Set([sid]));
  emit(["sid-p1"], ["ack", { n: 1 }]);
  const toP2 = emit(["sid-p2"], ["ack", { n: 2 }]);
  emit(["sid-p3"], ["ack", { n: 3 }]);
  const payment = emit(["t:a"], ["payment", {}]);
  persist("p2", ["sid-p2"]);
  persist("p3", ["sid-p3"]);
  for (const sid of ["sid-p1", "sid-p2", "sid-p3"]) adapter().delAll(sid);
  assert.equal(adapter().indexedRooms, 3, "p1 left for good: its room's packets are gone; p2's and p3's are kept");
  adapter().discardSession("p3");
  assert.equal(adapter().indexedRooms, 2, "a discarded session's packets go with it");
  assert.deepEqual((await adapter().restoreSession("p2", "1")).missedPackets, [toP2]);
  // Packets let go of early still leave the window in order, and the room indexes stay consistent.
  mock.timers.tick(WINDOW_MS + 60_000);
  assert.equal(adapter().keptPackets, 0);
  assert.equal(adapter().indexedRooms, 0);
  assert.equal(payment.at(-1), "4");
});

/** What a broadcast wrote for one member socket: the encoded packets and the pre-built WebSocket frame's bytes. */
interface Written {
  packets: unknown[];
  frame: Buffer | undefined;
}

/** Broadcasts to the room `t:w`, whose one member is a stand-in socket recording what Socket.IO would hand to Engine.IO. */
function broadcastToMember(server: Server, namespace: string, packet: { type: number; id?: number; data: unknown[] }): Written {
  const nsp = server.of(namespace);
  const written: Written[] = [];
  const member = {
    id: "member",
    client: {
      writeToEngine: (packets: unknown[], opts: { wsPreEncodedFrame?: Buffer[] }) =>
        written.push({ packets, frame: opts.wsPreEncodedFrame === undefined ? undefined : Buffer.concat(opts.wsPreEncodedFrame) }),
    },
  };
  (nsp.sockets as unknown as Map<string, unknown>).set("member", member);
  void nsp.adapter.addAll("member", new Set(["member", "t:w"]));
  nsp.adapter.broadcast(packet, { rooms: new Set(["t:w"]), except: new Set(), flags: { local: true } });
  nsp.adapter.delAll("member");
  (nsp.sockets as unknown as Map<string, unknown>).delete("member");
  assert.equal(written.length, 1);
  return written[0]!;
}

test("a kept packet goes out as the bytes socket.io-parser makes, from the JSON kept for it, without asking the encoder", async () => {
  // A server without an HTTP server to close: its stock in-memory adapter holds no timers.
  const stock = new Server();
  const encode = mock.method((io as unknown as { encoder: { encode: (packet: unknown) => unknown[] } }).encoder, "encode");
  try {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.string(), async (payload, event) => {
        const packet = { type: 2, data: [event, payload] };
        const ours = broadcastToMember(io, "/", packet);
        // The same data (the offset included) through Socket.IO's stock adapter and encoder.
        const theirs = broadcastToMember(stock, "/", { type: 2, data: [...packet.data] });
        assert.deepEqual(ours.packets, theirs.packets);
        assert.ok(ours.frame !== undefined && theirs.frame !== undefined);
        assert.ok(ours.frame.equals(theirs.frame), "the same WebSocket frame, byte for byte");
      }),
      { numRuns: 300 },
    );
    assert.equal(encode.mock.callCount(), 0, "the stock encoder was not needed");
  } finally {
    encode.mock.restore();
  }
});

test("packets the kept JSON cannot stand for go Socket.IO's stock way: binary, an ack id, another namespace", async () => {
  const stock = new Server();
  const encode = mock.method((io as unknown as { encoder: { encode: (packet: unknown) => unknown[] } }).encoder, "encode");
  const cases: Array<{ namespace: string; packet: () => { type: number; id?: number; data: unknown[] } }> = [
    { namespace: "/", packet: () => ({ type: 2, data: ["payment", { raw: Buffer.from([1, 2, 3]) }] }) },
    { namespace: "/", packet: () => ({ type: 2, data: ["payment", new Uint8Array([4])] }) },
    { namespace: "/", packet: () => ({ type: 2, data: ["payment", { at: new Date(0) }] }) },
    { namespace: "/", packet: () => ({ type: 2, id: 7, data: ["payment", { n: 1 }] }) },
    { namespace: "/other", packet: () => ({ type: 2, data: ["payment", { n: 1 }] }) },
  ];
  try {
    for (const { namespace, packet } of cases) {
      const before = encode.mock.callCount();
      const sent = packet();
      const ours = broadcastToMember(io, namespace, sent);
      const theirs = broadcastToMember(stock, namespace, { ...sent, data: [...sent.data] });
      assert.deepEqual(ours.packets, theirs.packets, `${namespace} ${JSON.stringify(sent.data)}`);
      assert.deepEqual(ours.frame, theirs.frame);
      if (namespace === "/") assert.equal(encode.mock.callCount(), before + 1, "the stock encoder made these bytes");
    }
  } finally {
    encode.mock.restore();
  }
});

test("a broadcast reaches the same sockets, each once, as with Socket.IO's stock adapter", async () => {
  const stockServer = new Server();
  const rooms = ["t:a", "t:b", "t:c"];
  const ids = ["s1", "s2", "s3", "s4"];
  await fc.assert(
    fc.asyncProperty(
      fc.tuple(...ids.map(() => fc.subarray(rooms))),
      fc.subarray([...rooms, ...ids], { maxLength: 2 }),
      fc.subarray([...rooms, ...ids], { maxLength: 2 }),
      async (membership, to, except) => {
        const reached: string[][] = [];
        for (const server of [stockServer, io]) {
          const nsp = server.of("/");
          ids.forEach((id, n) => {
            (nsp.sockets as unknown as Map<string, unknown>).set(id, { id });
            void nsp.adapter.addAll(id, new Set([id, ...membership[n]!]));
          });
          const sockets = (await nsp.adapter.fetchSockets({ rooms: new Set(to), except: new Set(except) })) as unknown as Array<{ id: string }>;
          reached.push(sockets.map((socket) => socket.id).sort());
          for (const id of ids) {
            nsp.adapter.delAll(id);
            (nsp.sockets as unknown as Map<string, unknown>).delete(id);
          }
        }
        assert.deepEqual(reached[1], reached[0]);
      },
    ),
    { numRuns: 300 },
  );
});
