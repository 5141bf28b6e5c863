import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";
import { Server } from "socket.io";
import { recoveryAdapter, type RecoveryAdapter } from "../../src/gateway/recovery-adapter.js";

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

  const later = await adapter().restoreSession("p1", String(toAll.at(-1)));
  assert.deepEqual(later.missedPackets, [toOwn, toBoth]);
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

  // With nothing broadcast, the periodic sweep drops what expired.
  mock.timers.tick(WINDOW_MS + 60_000);
  assert.equal(adapter().keptPackets, 0);
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

test("past the packet cap the oldest packets go, whatever their age", async () => {
  persist("p1", ["t:a"]);
  const all = Array.from({ length: MAX_PACKETS + 3 }, (_, i) => emit(["t:a"], ["payment", { i }]));
  assert.equal(adapter().keptPackets, MAX_PACKETS);
  assert.equal(await adapter().restoreSession("p1", "3"), null, "offset 3 was dropped to make room");
  assert.deepEqual((await adapter().restoreSession("p1", "4")).missedPackets, all.slice(4));
});
