import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { IdentityConflictError, StoreFatalError } from "../../src/store/payment-store.js";
import { migrate } from "../../src/store/sqlite-database.js";
import { paymentIndexPath } from "../../src/store/sqlite-payment-index.js";
import { openSqliteStore } from "../../src/store/sqlite-store.js";
import { ThreadWriterPort } from "../../src/store/sqlite-thread-writer-port.js";
import { randomSignature } from "../support/payments.js";
import { storeContract } from "../support/store-contract.js";

const dir = mkdtempSync(join(tmpdir(), "tributary-sqlite-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

storeContract("sqlite", async (clock) =>
  openSqliteStore({ path: join(dir, `contract-${++files}.sqlite`), ...(clock === undefined ? {} : { now: clock }) }),
);

test("sqlite: a reopened file keeps payments, heads and checkpoints", async () => {
  const path = join(dir, "reopen.sqlite");
  const first = openSqliteStore({ path });
  const signature = randomSignature();
  await first.append([{ trackingId: "t", amount: 1n, timestamp: 1, status: "executed", signature, eventIndex: 0 }]);
  await first.writeCheckpoint("source", "x");
  await first.close();
  const second = openSqliteStore({ path });
  assert.equal(await second.latestOffset("t"), 1);
  assert.equal(await second.readCheckpoint("source"), "x");
  const [again] = await second.append([{ trackingId: "t", amount: 1n, timestamp: 1, status: "executed", signature, eventIndex: 0 }]);
  assert.equal(again?.duplicate, true);
  await second.close();
});

test("sqlite: a writer thread that dies fails every write as a broken store", async () => {
  // A path under a regular file: the thread cannot open it and exits at start-up.
  const port = new ThreadWriterPort({ path: join(dir, "reopen.sqlite", "nested.sqlite"), busyTimeoutMs: 100 });
  await assert.rejects(port.commit([[]]), StoreFatalError);
  await assert.rejects(port.ping(), StoreFatalError);
  await port.close();
});

test("sqlite: errors keep their class across the writer thread", async () => {
  const store = openSqliteStore({ path: join(dir, "classes.sqlite") });
  const first = { trackingId: "t", amount: 1n, timestamp: 1, status: "executed" as const, signature: randomSignature(), eventIndex: 0 };
  await store.append([first]);
  await assert.rejects(store.append([{ ...first, amount: 2n }]), IdentityConflictError);
  await store.close();
  await assert.rejects(store.append([first]), /closed/);
});

test("sqlite: a file from before the arrival-ordered table keeps its payments, offsets and identities", async () => {
  const path = join(dir, "version-2.sqlite");
  const old = new Database(path);
  migrate(old, 2);
  const insert = old.prepare(
    `INSERT INTO payments (tracking_id, log_offset, signature, event_index, amount, timestamp, status, received_at)
     VALUES (?, ?, ?, 0, ?, 1, 'executed', ?)`,
  );
  const signatures = [randomSignature(), randomSignature(), randomSignature()];
  signatures.forEach((signature, index) => insert.run("t", index + 1, signature, "18446744073709551615", 1000 + index));
  old.prepare("INSERT INTO tracking_heads (tracking_id, last_offset) VALUES ('t', 3)").run();
  old.close();

  const store = openSqliteStore({ path });
  const listed = await store.list({ trackingId: "t", after: 0, limit: 10 });
  assert.deepEqual(
    listed.map((p) => [p.offset, p.signature, p.amount]),
    signatures.map((signature, index) => [index + 1, signature, 18446744073709551615n]),
  );
  const [again, next] = await store.append([
    { trackingId: "t", amount: 18446744073709551615n, timestamp: 1, status: "executed", signature: signatures[0] as string, eventIndex: 0 },
    { trackingId: "t", amount: 5n, timestamp: 2, status: "executed", signature: randomSignature(), eventIndex: 0 },
  ]);
  assert.equal(again?.duplicate, true);
  assert.equal(next?.payment.offset, 4);
  await store.close();
});

test("sqlite: policy events stored before the policy log had a commit-order seq get one, and later ones follow it", async () => {
  const path = join(dir, "version-4.sqlite");
  const old = new Database(path);
  migrate(old, 4);
  const insert = old.prepare(
    `INSERT INTO policy_events (tracking_id, policy_offset, after_offset, signature, event_index, payment_policy, status, timestamp, received_at)
     VALUES (?, ?, 0, ?, 0, 'Policy1111111111111111111111111111111111111', 'created', 1, ?)`,
  );
  insert.run("b", 1, randomSignature(), 2000);
  insert.run("a", 1, randomSignature(), 1000);
  old.prepare("INSERT INTO policy_heads (tracking_id, last_offset) VALUES ('a', 1), ('b', 1)").run();
  old.close();

  const store = openSqliteStore({ path });
  await store.appendPolicyEvents([{ trackingId: "a", paymentPolicy: "Policy1111111111111111111111111111111111111", status: "paused", signature: randomSignature(), eventIndex: 0, timestamp: 2 }]);
  await store.close();
  const db = new Database(path, { readonly: true });
  const rows = db.prepare("SELECT tracking_id, policy_offset, seq FROM policy_events ORDER BY seq").all();
  db.close();
  assert.deepEqual(rows, [
    { tracking_id: "a", policy_offset: 1, seq: 1 },
    { tracking_id: "b", policy_offset: 1, seq: 2 },
    { tracking_id: "a", policy_offset: 2, seq: 3 },
  ]);
});

test("sqlite: a head kept by retention alone survives a reopen", async () => {
  const path = join(dir, "prune.sqlite");
  let clock = 1_000;
  const payment = (trackingId: string) => ({ trackingId, amount: 1n, timestamp: 1, status: "executed" as const, signature: randomSignature(), eventIndex: 0 });
  const store = openSqliteStore({ path, now: () => clock });
  await store.append([payment("old"), payment("old")]);
  clock = 2_000;
  assert.equal(await store.prune({ receivedBefore: 1_500 }), 2);
  await store.close();
  const reopened = openSqliteStore({ path });
  try {
    assert.equal(await reopened.latestOffset("old"), 2);
    const [next] = await reopened.append([payment("old")]);
    assert.equal(next?.payment.offset, 3);
  } finally {
    await reopened.close();
  }
});

test("sqlite: a payment as append answers it has the same fields, in the same order, as the one read back", async () => {
  const store = openSqliteStore({ path: join(dir, "shape.sqlite") });
  const input = { trackingId: "t", amount: 5n, timestamp: 1, status: "executed" as const, signature: randomSignature(), eventIndex: 0, slot: 7 };
  const [appended] = await store.append([input]);
  const [listed] = await store.list({ trackingId: "t", after: 0, limit: 1 });
  // One shape for both, so code that reads payments sees one hidden class, and a field added to one is added to the other.
  assert.deepEqual(Object.keys(appended?.payment ?? {}), Object.keys(listed ?? {}));
  assert.deepStrictEqual(appended?.payment, listed);
  await store.close();
});

/** `count` payments of one tracking ID, appended in requests of 500. */
async function appendMany(store: ReturnType<typeof openSqliteStore>, trackingId: string, count: number): Promise<void> {
  for (let done = 0; done < count; done += 500) {
    const size = Math.min(500, count - done);
    await store.append(
      Array.from({ length: size }, () => ({ trackingId, amount: 1n, timestamp: 1, status: "executed" as const, signature: randomSignature(), eventIndex: 0 })),
    );
  }
}

test("sqlite: a prune runs in steps, so an append sent while a long prune runs is stored before the prune ends", async () => {
  // The writer thread answers requests in order; a prune that is one request holds every append sent after it.
  const store = openSqliteStore({ path: join(dir, "prune-steps.sqlite") });
  try {
    await appendMany(store, "long", 2500);
    const finished: string[] = [];
    const pruned = store.prune({ keepPerTrackingId: 1 }).then((deleted) => (finished.push("prune"), deleted));
    const appended = store
      .append([{ trackingId: "other", amount: 1n, timestamp: 1, status: "executed", signature: randomSignature(), eventIndex: 0 }])
      .then(() => finished.push("append"));
    assert.equal(await pruned, 2499);
    await appended;
    assert.deepEqual(finished, ["append", "prune"]);
    assert.deepEqual((await store.list({ trackingId: "long", after: 0, limit: 10 })).map((p) => p.offset), [2500]);
    assert.equal(await store.latestOffset("other"), 1);
  } finally {
    await store.close();
  }
});

test("sqlite: a prune by count in steps reaches every tracking ID, and one with more rows to go than a step takes", async () => {
  const store = openSqliteStore({ path: ":memory:" });
  const row = (trackingId: string) => ({ trackingId, amount: 1n, timestamp: 1, status: "executed" as const, signature: randomSignature(), eventIndex: 0 });
  try {
    // More tracking IDs with nothing to prune than one step looks at, then one with a row too many after them in key order.
    const many = Array.from({ length: 2100 }, (_, i) => `id-${String(i).padStart(4, "0")}`);
    for (let i = 0; i < many.length; i += 500) await store.append(many.slice(i, i + 500).map(row));
    await store.append([row("zz-last"), row("zz-last")]);
    // And one among them with more rows to go than one step deletes.
    await appendMany(store, "id-1000-big", 2300);
    assert.equal(await store.prune({ keepPerTrackingId: 1 }), 2299 + 1);
    for (const [trackingId, newest] of [["id-0000", 1], ["id-1000-big", 2300], ["id-2099", 1], ["zz-last", 2]] as const) {
      const left = await store.list({ trackingId, after: 0, limit: 10 });
      assert.deepEqual(left.map((p) => p.offset), [newest], trackingId);
    }
    assert.equal(await store.prune({ keepPerTrackingId: 1 }), 0);
  } finally {
    await store.close();
  }
});

test("sqlite: a prune by count after one with the same bound trims the tracking IDs appended to since, across steps and a reopen", async () => {
  const path = join(dir, "count-since.sqlite");
  const offsets = async (store: ReturnType<typeof openSqliteStore>, trackingId: string) =>
    (await store.list({ trackingId, after: 0, limit: 10 })).map((p) => p.offset);
  let store = openSqliteStore({ path });
  try {
    await appendMany(store, "a", 3);
    await appendMany(store, "b", 3);
    assert.equal(await store.prune({ keepPerTrackingId: 2 }), 2);
    await store.close();
    store = openSqliteStore({ path });
    // More new rows than one step looks at, and more to delete than one step deletes, over three tracking IDs.
    await appendMany(store, "a", 1200);
    await appendMany(store, "c", 1500);
    await appendMany(store, "a", 10);
    assert.equal(await store.prune({ keepPerTrackingId: 2 }), 1210 + 1498);
    assert.deepEqual(await offsets(store, "a"), [1212, 1213]);
    assert.deepEqual(await offsets(store, "b"), [2, 3]);
    assert.deepEqual(await offsets(store, "c"), [1499, 1500]);
    // Nothing new: nothing to delete.
    assert.equal(await store.prune({ keepPerTrackingId: 2 }), 0);
    // Another bound holds for every tracking ID, appended to or not.
    assert.equal(await store.prune({ keepPerTrackingId: 1 }), 3);
    assert.deepEqual(await offsets(store, "b"), [3]);
  } finally {
    await store.close();
  }
});

test("sqlite: a prune by count does not trust a mark past the table's end, as a restored backup of the table leaves", async () => {
  const path = join(dir, "count-mark-ahead.sqlite");
  let store = openSqliteStore({ path });
  try {
    await appendMany(store, "a", 2);
    assert.equal(await store.prune({ keepPerTrackingId: 1 }), 1);
    await store.close();
    const index = new Database(paymentIndexPath(path));
    index.prepare("UPDATE count_prune SET through_seq = 1000000").run();
    index.close();
    store = openSqliteStore({ path });
    await appendMany(store, "a", 3);
    assert.equal(await store.prune({ keepPerTrackingId: 1 }), 3);
    assert.deepEqual((await store.list({ trackingId: "a", after: 0, limit: 10 })).map((p) => p.offset), [5]);
  } finally {
    await store.close();
  }
});

test("sqlite: a prune by age in steps keeps the heads of tracking IDs it empties", async () => {
  let clock = 1_000;
  const store = openSqliteStore({ path: join(dir, "age-steps.sqlite"), now: () => clock });
  try {
    await appendMany(store, "gone", 2500);
    clock = 2_000;
    assert.equal(await store.prune({ receivedBefore: 1_500 }), 2500);
    assert.equal(await store.latestOffset("gone"), 2500);
    const [next] = await store.append([{ trackingId: "gone", amount: 1n, timestamp: 1, status: "executed", signature: randomSignature(), eventIndex: 0 }]);
    assert.equal(next?.payment.offset, 2501);
  } finally {
    await store.close();
  }
});
