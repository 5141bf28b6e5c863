import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { storedPayment, type StoredPayment } from "../../src/payment.js";
import { RoomSequencer } from "../../src/gateway/room-sequencer.js";
import type { ListQuery } from "../../src/store/payment-store.js";

const payment = (trackingId: string, offset: number): StoredPayment =>
  storedPayment(
    { trackingId, amount: 1n, timestamp: 1, status: "executed", signature: `sig-${trackingId}-${offset}`, eventIndex: 0 },
    offset,
    0,
  );

/** A sequencer over a store holding `stored`, whose reads wait until `release` is called when `gated`. */
function sequencerOver(stored: StoredPayment[], options: { gated?: boolean; failing?: boolean } = {}) {
  const emitted: number[] = [];
  const reads: ListQuery[] = [];
  let release: () => void = () => undefined;
  const opened = options.gated === true ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
  const sequencer = new RoomSequencer({
    read: async (query) => {
      reads.push(query);
      await opened;
      if (options.failing === true) throw new Error("store down");
      return stored.filter((p) => p.trackingId === query.trackingId && p.offset > query.after).slice(0, query.limit);
    },
    emit: (p) => emitted.push(p.offset),
    pageSize: 2,
    logger: pino({ level: "silent" }),
  });
  return { sequencer, emitted, reads, release: () => release() };
}

test("payments in order are emitted at once, and one that arrives again is dropped", () => {
  const { sequencer, emitted, reads } = sequencerOver([]);
  sequencer.track("t", 0);
  for (const offset of [1, 2, 2, 3, 1]) sequencer.sequence(payment("t", offset));
  assert.deepEqual(emitted, [1, 2, 3]);
  assert.deepEqual(reads, []);
});

test("a payment ahead of a gap is held until the gap is read from the store, and those arriving meanwhile join it in order", async () => {
  const stored = [1, 2, 3, 4, 5, 6].map((offset) => payment("t", offset));
  const { sequencer, emitted, reads, release } = sequencerOver(stored, { gated: true });
  sequencer.track("t", 1);
  sequencer.sequence(payment("t", 5));
  // Arrive while the gap is being read, out of order and twice.
  sequencer.sequence(payment("t", 7));
  sequencer.sequence(payment("t", 6));
  sequencer.sequence(payment("t", 5));
  assert.deepEqual(emitted, []);
  release();
  await sequencer.catchUp("t", 7);
  assert.deepEqual(emitted, [2, 3, 4, 5, 6, 7]);
  // Read in pages of two, from the last offset sent, up to the one before the held payment.
  assert.deepEqual(
    reads.map((r) => [r.after, r.limit]),
    [
      [1, 2],
      [3, 1],
    ],
  );
  // Nothing is held afterwards: the next payment in order goes straight out.
  sequencer.sequence(payment("t", 8));
  assert.deepEqual(emitted, [2, 3, 4, 5, 6, 7, 8]);
});

test("when the store cannot fill a gap, what is held is sent in order rather than retried", async () => {
  const { sequencer, emitted } = sequencerOver([], { failing: true });
  sequencer.track("t", 1);
  sequencer.sequence(payment("t", 4));
  sequencer.sequence(payment("t", 3));
  await sequencer.catchUp("t", 4);
  assert.deepEqual(emitted, [3, 4]);
});

test("a payment for a tracking ID nobody here follows is passed on unordered, for connection-state recovery", () => {
  const { sequencer, emitted, reads } = sequencerOver([]);
  sequencer.sequence(payment("elsewhere", 9));
  sequencer.sequence(payment("elsewhere", 2));
  assert.deepEqual(emitted, [9, 2]);
  assert.deepEqual(reads, []);
});
