import assert from "node:assert/strict";
import { test } from "node:test";
import { HeadReads, MAX_HEADS_PER_READ } from "../../src/gateway/head-reads.js";
import type { TrackingHeads } from "../../src/store/payment-store.js";

/** A store whose heads are the tracking ID's length (payments) and twice it (policy events); it records every call. */
function recordingStore(fail?: () => unknown) {
  const calls: string[][] = [];
  const readHeads = async (trackingIds: readonly string[]): Promise<TrackingHeads[]> => {
    calls.push([...trackingIds]);
    if (fail !== undefined) throw fail();
    return trackingIds.map((id) => ({ latestOffset: id.length, latestPolicyOffset: 2 * id.length }));
  };
  return { calls, readHeads };
}

test("reads asked in one turn are one store read, each tracking ID once, each caller answered with its own", async () => {
  const store = recordingStore();
  const reads = new HeadReads(store.readHeads);
  const answers = await Promise.all(["a", "bbb", "a", "cc"].map((id) => reads.read(id)));
  assert.deepEqual(store.calls, [["a", "bbb", "cc"]]);
  assert.deepEqual(
    answers.map((heads) => [heads.latestOffset, heads.latestPolicyOffset]),
    [
      [1, 2],
      [3, 6],
      [1, 2],
      [2, 4],
    ],
  );
});

test("a read asked after the last one was answered is a store read of its own", async () => {
  const store = recordingStore();
  const reads = new HeadReads(store.readHeads);
  await reads.read("a");
  await reads.read("bb");
  assert.deepEqual(store.calls, [["a"], ["bb"]]);
});

test("a turn that asks for more than one read holds is split into reads of at most the limit", async () => {
  const store = recordingStore();
  const reads = new HeadReads(store.readHeads);
  const ids = Array.from({ length: 2 * MAX_HEADS_PER_READ + 1 }, (_, i) => "x".repeat(i + 1));
  const answers = await Promise.all(ids.map((id) => reads.read(id)));
  assert.deepEqual(
    store.calls.map((call) => call.length),
    [MAX_HEADS_PER_READ, MAX_HEADS_PER_READ, 1],
  );
  assert.deepEqual(
    answers.map((heads) => heads.latestOffset),
    ids.map((id) => id.length),
  );
});

test("a failed store read fails every read of its turn, and the next turn reads again", async () => {
  let failing = true;
  const calls: string[][] = [];
  const reads = new HeadReads(async (trackingIds) => {
    calls.push([...trackingIds]);
    if (failing) throw new Error("store down");
    return trackingIds.map(() => ({ latestOffset: 7, latestPolicyOffset: 0 }));
  });
  const outcomes = await Promise.allSettled([reads.read("a"), reads.read("b")]);
  assert.deepEqual(
    outcomes.map((outcome) => (outcome.status === "rejected" ? (outcome.reason as Error).message : "resolved")),
    ["store down", "store down"],
  );
  failing = false;
  assert.deepEqual(await reads.read("a"), { latestOffset: 7, latestPolicyOffset: 0 });
  assert.deepEqual(calls, [["a", "b"], ["a"]]);
});

test("a store that answers for fewer tracking IDs than asked fails the reads it left out, not the others", async () => {
  const reads = new HeadReads(async () => [{ latestOffset: 1, latestPolicyOffset: 0 }]);
  const outcomes = await Promise.allSettled([reads.read("a"), reads.read("b")]);
  assert.equal(outcomes[0]?.status, "fulfilled");
  assert.equal(outcomes[1]?.status, "rejected");
});
