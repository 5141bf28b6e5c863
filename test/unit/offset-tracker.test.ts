import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { OffsetTracker } from "../../src/client/offset-tracker.js";

const item = (offset: number, id = `sig${offset}:0`) => ({ id, offset });
const offsets = (items: Array<{ offset: number }>) => items.map((i) => i.offset);

/** Feeds arrivals in order and returns every offset handed over, in hand-over order. */
function run(tracker: OffsetTracker<{ id: string; offset: number }>, arrivals: number[]): number[] {
  return arrivals.flatMap((offset) => offsets(tracker.accept(item(offset))));
}

describe("OffsetTracker", () => {
  test("live only: the first arrival sets the position, later ones follow it", () => {
    const tracker = new OffsetTracker();
    assert.deepEqual(run(tracker, [7, 8, 9]), [7, 8, 9]);
    assert.equal(tracker.lastOffset, 9);
  });

  test("with since: only offsets above it are handed over", () => {
    const tracker = new OffsetTracker(3);
    assert.deepEqual(run(tracker, [1, 2, 3, 4, 5]), [4, 5]);
  });

  test("recovery plus replay: every duplicate is dropped, each offset is handed over once", () => {
    const tracker = new OffsetTracker(2);
    // Recovery resends 3 and 4, then the re-subscribe replays 3 to 5, then 6 arrives live.
    assert.deepEqual(run(tracker, [3, 4, 3, 4, 5, 6, 5, 6]), [3, 4, 5, 6]);
  });

  test("a duplicate id under another offset is dropped", () => {
    const tracker = new OffsetTracker(0);
    assert.deepEqual(offsets(tracker.accept(item(1, "a"))), [1]);
    assert.deepEqual(offsets(tracker.accept(item(2, "a"))), []);
    assert.equal(tracker.lastOffset, 1);
  });

  test("out of order: a payment ahead of a missing offset waits, then all go in order", () => {
    const tracker = new OffsetTracker(0);
    assert.deepEqual(offsets(tracker.accept(item(3))), []);
    assert.deepEqual(offsets(tracker.accept(item(2))), []);
    assert.equal(tracker.hasGap, true);
    assert.deepEqual(offsets(tracker.accept(item(1))), [1, 2, 3]);
    assert.equal(tracker.hasGap, false);
    assert.equal(tracker.lastOffset, 3);
  });

  test("a held payment arriving again is held once", () => {
    const tracker = new OffsetTracker(0);
    assert.deepEqual(run(tracker, [2, 2, 2, 1]), [1, 2]);
  });

  test("skipGap gives up on the lowest missing offset only", () => {
    const tracker = new OffsetTracker(0);
    assert.deepEqual(run(tracker, [3, 4, 6]), []);
    assert.deepEqual(offsets(tracker.skipGap()), [3, 4]);
    assert.equal(tracker.hasGap, true);
    assert.deepEqual(offsets(tracker.skipGap()), [6]);
    assert.equal(tracker.hasGap, false);
    // The skipped offsets arriving late are history now.
    assert.deepEqual(run(tracker, [1, 2, 5, 7]), [7]);
    assert.deepEqual(offsets(tracker.skipGap()), []);
  });

  test("expectGap lets the next arrival skip ahead, once", () => {
    const tracker = new OffsetTracker(0);
    assert.deepEqual(offsets(tracker.expectGap()), []);
    assert.deepEqual(run(tracker, [5, 6]), [5, 6]);
    assert.deepEqual(run(tracker, [8]), []);
    assert.equal(tracker.hasGap, true);
  });

  test("expectGap with payments already held releases them", () => {
    const tracker = new OffsetTracker(0);
    assert.deepEqual(run(tracker, [4, 5]), []);
    assert.deepEqual(offsets(tracker.expectGap()), [4, 5]);
  });

  test("startAfter sets the position of a live-only tracker that has seen nothing", () => {
    const tracker = new OffsetTracker();
    assert.deepEqual(offsets(tracker.startAfter(10)), []);
    assert.deepEqual(run(tracker, [9, 10, 11]), [11]);
  });

  test("startAfter changes nothing once a position is known", () => {
    const fromSince = new OffsetTracker(2);
    fromSince.startAfter(10);
    assert.equal(fromSince.lastOffset, 2);
    const fromArrival = new OffsetTracker();
    run(fromArrival, [12]);
    fromArrival.startAfter(10);
    assert.equal(fromArrival.lastOffset, 12);
  });

  test("the id memory is bounded and offsets still rule out old repeats", () => {
    const tracker = new OffsetTracker(0, 2);
    assert.deepEqual(run(tracker, [1, 2, 3, 4]), [1, 2, 3, 4]);
    assert.deepEqual(offsets(tracker.accept(item(1))), []);
    assert.deepEqual(offsets(tracker.accept(item(5, "sig4:0"))), [], "a recent id is still remembered");
    assert.deepEqual(offsets(tracker.accept(item(5, "sig1:0"))), [5], "an id beyond the bound is forgotten");
  });
});
