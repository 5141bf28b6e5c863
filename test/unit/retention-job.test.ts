import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import type { PaymentStore, RetentionPolicy } from "../../src/store/payment-store.js";
import { startRetentionJob } from "../../src/store/retention-job.js";

/** A store whose prunes finish when the test says so. */
function storeWithHeldPrunes() {
  const prunes: Array<{ policy: RetentionPolicy; finish: (deleted: number) => void }> = [];
  const store = {
    prune: (policy: RetentionPolicy) => new Promise<number>((resolve) => prunes.push({ policy, finish: resolve })),
  } as unknown as PaymentStore;
  return { store, prunes };
}

test("retention: a run asked for while one is on joins it instead of starting a second prune", async () => {
  const { store, prunes } = storeWithHeldPrunes();
  const job = startRetentionJob(store, { maxAgeSeconds: 0, maxPerTrackingId: 3, intervalMs: 60_000 }, pino({ level: "silent" }));
  try {
    const first = job.runOnce();
    const second = job.runOnce();
    assert.equal(prunes.length, 1);
    assert.deepEqual(prunes[0]?.policy, { receivedBefore: undefined, keepPerTrackingId: 3 });
    prunes[0]?.finish(5);
    assert.deepEqual(await Promise.all([first, second]), [5, 5]);
    // Once it ended, the next call prunes again.
    const third = job.runOnce();
    assert.equal(prunes.length, 2);
    prunes[1]?.finish(0);
    assert.equal(await third, 0);
  } finally {
    job.stop();
  }
});

test("retention: with no bound set, nothing is pruned", async () => {
  const { store, prunes } = storeWithHeldPrunes();
  const job = startRetentionJob(store, { maxAgeSeconds: 0, maxPerTrackingId: 0, intervalMs: 60_000 }, pino({ level: "silent" }));
  assert.equal(await job.runOnce(), 0);
  assert.equal(prunes.length, 0);
  job.stop();
});
