import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { paymentIndexPath } from "../../src/store/sqlite-payment-index.js";
import { openSqliteStore } from "../../src/store/sqlite-store.js";
import { paymentInput } from "../support/payments.js";

const dir = mkdtempSync(join(tmpdir(), "tributary-index-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** A store file holding payments 1–2 of "t" and 1 of "u"; returns its path and what was stored. */
async function storeWithPayments(clock?: () => number) {
  const path = join(dir, `payments-${++files}.sqlite`);
  const store = openSqliteStore({ path, ...(clock === undefined ? {} : { now: clock }) });
  const inputs = [paymentInput("t"), paymentInput("u"), paymentInput("t")];
  await store.append(inputs);
  await store.close();
  return { path, inputs };
}

/** What a reopened store answers about the file: listings, heads, and the identity and offset rules. */
async function assertWhole(path: string, inputs: ReturnType<typeof paymentInput>[]) {
  const store = openSqliteStore({ path });
  try {
    const listed = await store.list({ trackingId: "t", after: 0, limit: 10 });
    assert.deepEqual(listed.map((p) => [p.offset, p.signature]), [[1, inputs[0]?.signature], [2, inputs[2]?.signature]]);
    assert.equal(await store.latestOffset("u"), 1);
    const [again, next] = await store.append([inputs[1] as ReturnType<typeof paymentInput>, paymentInput("t")]);
    assert.equal(again?.duplicate, true);
    assert.equal(again?.payment.offset, 1);
    assert.equal(next?.payment.offset, 3);
  } finally {
    await store.close();
  }
}

function withFile<T>(path: string, use: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return use(db);
  } finally {
    db.close();
  }
}

/** Commits a payment to the table alone, as a writer that died before its index transaction leaves it. */
function commitUnindexed(path: string, payment: ReturnType<typeof paymentInput>, offset: number): void {
  withFile(path, (db) =>
    db
      .prepare(
        `INSERT INTO payments (seq, tracking_id, log_offset, signature, event_index, amount, timestamp, status, received_at)
         VALUES ((SELECT max(seq) + 1 FROM payments), ?, ?, ?, ?, ?, ?, ?, 1)`,
      )
      .run(payment.trackingId, offset, payment.signature, payment.eventIndex, payment.amount.toString(), payment.timestamp, payment.status),
  );
}

test("payment index: the table keeps no random-key index; the index file holds each payment's offset and no identities", async () => {
  const { path } = await storeWithPayments();
  const tableIndexes = withFile(path, (db) => db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'payments'").pluck().all());
  assert.deepEqual(tableIndexes, ["payments_received_at"]);
  const [tables, entries] = withFile(paymentIndexPath(path), (db) => [
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all(),
    db.prepare("SELECT count(*) FROM payment_log").pluck().get(),
  ]);
  assert.deepEqual(tables, ["count_prune", "identity_snapshot", "index_state", "payment_log", "pruning"]);
  assert.equal(entries, 3);
});

test("payment index: an index file from before identities moved to memory loses its identity table and keeps its offsets", async () => {
  const { path, inputs } = await storeWithPayments();
  // What a file of the build before holds: schema version 3, with the identity table.
  withFile(paymentIndexPath(path), (db) => {
    db.exec(`CREATE TABLE payment_identity (signature TEXT NOT NULL, event_index INTEGER NOT NULL, seq INTEGER NOT NULL,
               PRIMARY KEY (signature, event_index)) WITHOUT ROWID;
             DROP TABLE identity_snapshot;
             PRAGMA user_version = 3;`);
  });
  await assertWhole(path, inputs);
  const [tables, version] = withFile(paymentIndexPath(path), (db) => [
    db.prepare("SELECT name FROM sqlite_master WHERE name = 'payment_identity'").pluck().all(),
    db.pragma("user_version", { simple: true }),
  ]);
  assert.deepEqual([tables, version], [[], 5]);
});

test("payment index: a clean close saves the writer's identities; a start takes them and reads only the rows past them", async () => {
  const { path, inputs } = await storeWithPayments();
  const saved = () =>
    withFile(paymentIndexPath(path), (db) => db.prepare("SELECT through_seq, entries FROM identity_snapshot").all());
  assert.deepEqual(saved(), [{ through_seq: 3, entries: 3 }]);
  // Committed after the save, as another process that died before its index transaction leaves it.
  const late = paymentInput("t");
  commitUnindexed(path, late, 3);
  const store = openSqliteStore({ path });
  try {
    const [before, after, fresh] = await store.append([inputs[1] as ReturnType<typeof paymentInput>, late, paymentInput("t")]);
    assert.deepEqual([before?.duplicate, after?.duplicate, fresh?.duplicate, fresh?.payment.offset], [true, true, false, 4]);
  } finally {
    await store.close();
  }
  assert.deepEqual(saved(), [{ through_seq: 5, entries: 5 }]);

  // A save that is not usable is not used: the next start reads every row instead. First one of the wrong size, then
  // one whose sizes are right but whose bytes are in the other order, as a machine of the other byte order writes them.
  const damages = [
    (db: Database.Database) => db.exec("UPDATE identity_snapshot SET hashes = substr(hashes, 5)"),
    (db: Database.Database) => {
      const { hashes } = db.prepare("SELECT hashes FROM identity_snapshot").get() as { hashes: Buffer };
      db.prepare("UPDATE identity_snapshot SET hashes = ?").run(Buffer.from(hashes).swap32());
    },
  ];
  let offset = 1;
  for (const damage of damages) {
    withFile(paymentIndexPath(path), damage);
    const reopened = openSqliteStore({ path });
    try {
      const again = await reopened.append([inputs[0] as ReturnType<typeof paymentInput>, late, paymentInput("u")]);
      assert.deepEqual(again.map((outcome) => [outcome.duplicate, outcome.payment.offset]), [[true, 1], [true, 3], [false, ++offset]]);
    } finally {
      await reopened.close();
    }
  }
});

test("payment index: a start with a saved identity table hands out no seq the saved table covers, whatever the index file's mark", async () => {
  const { path } = await storeWithPayments();
  // The saved table covers seqs 1 – 3. Rows 2 and 3 gone and the mark at 1: what an index commit that failed before an
  // age prune of the newest rows would leave.
  withFile(path, (db) => db.exec("DELETE FROM payments WHERE seq > 1"));
  withFile(paymentIndexPath(path), (db) => db.exec("UPDATE index_state SET indexed_seq = 1"));
  const store = openSqliteStore({ path });
  const fresh = paymentInput("v");
  try {
    await store.append([fresh]);
  } finally {
    await store.close();
  }
  const seq = withFile(path, (db) => db.prepare("SELECT seq FROM payments WHERE signature = ?").pluck().get(fresh.signature));
  assert.equal(seq, 4);
});

test("payment index: rows the table committed and the index never got (a crash between the two) are indexed before the next append", async () => {
  const { path } = await storeWithPayments();
  // The state a crash between the two commits leaves: the table's newest row, absent from the index.
  const late = paymentInput("t");
  commitUnindexed(path, late, 3);
  const store = openSqliteStore({ path });
  try {
    assert.deepEqual((await store.list({ trackingId: "t", after: 2, limit: 10 })).map((p) => p.signature), [late.signature]);
    const [again, next] = await store.append([late, paymentInput("t")]);
    assert.equal(again?.duplicate, true);
    assert.equal(next?.payment.offset, 4);
  } finally {
    await store.close();
  }
});

test("payment index: a writer catches up on rows another process committed without indexing them, within its next group", async () => {
  const path = join(dir, `payments-${++files}.sqlite`);
  const store = openSqliteStore({ path });
  try {
    await store.append([paymentInput("t")]);
    // Another process committed a row and died before its index transaction; this store's writer is already running.
    const late = paymentInput("t");
    commitUnindexed(path, late, 2);
    const [again, next] = await store.append([late, paymentInput("t")]);
    assert.equal(again?.duplicate, true);
    assert.equal(again?.payment.offset, 2);
    assert.equal(next?.payment.offset, 3);
  } finally {
    await store.close();
  }
});

test("payment index: a deleted index file is rebuilt from the table when the store opens", async () => {
  const { path, inputs } = await storeWithPayments();
  for (const suffix of ["", "-wal", "-shm"]) rmSync(paymentIndexPath(path) + suffix, { force: true });
  await assertWhole(path, inputs);
});

test("payment index: restoring an older copy of the payments file beside a newer index file rebuilds the index", async () => {
  const { path, inputs } = await storeWithPayments();
  const backup = `${path}.backup`;
  // The store was closed, so its WAL was checkpointed into the file: the file alone is the backup.
  assert.equal(existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`).length : 0, 0);
  copyFileSync(path, backup);
  const store = openSqliteStore({ path });
  try {
    await store.append([paymentInput("t"), paymentInput("t")]);
    assert.equal(await store.latestOffset("t"), 4);
  } finally {
    await store.close();
  }
  // The restore: the payments file goes back to the copy; the index file still holds offsets 3 and 4 of "t".
  for (const suffix of ["-wal", "-shm"]) rmSync(path + suffix, { force: true });
  copyFileSync(backup, path);
  await assertWhole(path, inputs);
});

test("payment index: a clean close marks the file; one that another boot left unmarked is rebuilt, one of this boot is kept", async () => {
  const { path, inputs } = await storeWithPayments();
  const indexPath = paymentIndexPath(path);
  assert.equal(withFile(indexPath, (db) => db.prepare("SELECT clean FROM index_state").pluck().get()), 1);

  // Stand-in for a file torn by an operating-system crash: entries lost, not closed cleanly, another boot.
  withFile(indexPath, (db) => db.exec("DELETE FROM payment_log; UPDATE index_state SET clean = 0, boot_id = 'another boot'"));
  await assertWhole(path, inputs);

  // Not closed cleanly by a process of this boot (a process crash): the page cache held every write, so it is trusted as is.
  const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  withFile(indexPath, (db) => {
    db.exec("DELETE FROM payment_log WHERE tracking_id = 'u'");
    db.prepare("UPDATE index_state SET clean = 0, boot_id = ?").run(bootId);
  });
  const store = openSqliteStore({ path });
  try {
    assert.equal(await store.latestOffset("u"), 0);
  } finally {
    await store.close();
  }
});

test("payment index: retention deletes a pruned payment's identity and offset with its row", async () => {
  let clock = 1_000;
  const { path, inputs } = await storeWithPayments(() => clock);
  const store = openSqliteStore({ path, now: () => clock });
  try {
    clock = 2_000;
    const later = [paymentInput("t"), paymentInput("v"), paymentInput("v")];
    await store.append(later);
    assert.equal(await store.prune({ receivedBefore: 1_500 }), 3);
    assert.equal(await store.prune({ keepPerTrackingId: 1 }), 1);
    // A pruned payment sent again is new to the store, with the next offset; a kept one is a duplicate.
    const [pruned, kept] = await store.append([inputs[1] as ReturnType<typeof paymentInput>, later[0] as ReturnType<typeof paymentInput>]);
    assert.deepEqual([pruned?.duplicate, pruned?.payment.offset], [false, 2]);
    assert.deepEqual([kept?.duplicate, kept?.payment.offset], [true, 3]);
    assert.equal(await store.prune({ keepPerTrackingId: 1 }), 0);
    assert.equal(await store.prune({ receivedBefore: 1_500 }), 0);
  } finally {
    await store.close();
  }
  const left = withFile(path, (db) => db.prepare("SELECT tracking_id || ':' || log_offset FROM payments ORDER BY seq").pluck().all());
  assert.deepEqual(left, ["t:3", "v:2", "u:2"]);
  const indexed = withFile(paymentIndexPath(path), (db) => [
    db.prepare("SELECT tracking_id || ':' || log_offset FROM payment_log ORDER BY seq").pluck().all(),
    // Each prune's rows stay listed until a later prune sees their delete committed; the last two found nothing.
    db.prepare("SELECT count(*) FROM pruning").pluck().get(),
  ]);
  assert.deepEqual(indexed, [["t:3", "v:2", "u:2"], 0]);
});

test("payment index: a prune a crash stopped between its two commits is finished by the next prune", async () => {
  const { path } = await storeWithPayments();
  const indexPath = paymentIndexPath(path);
  const seqOf = (trackingId: string, offset: number) =>
    withFile(path, (db) => db.prepare("SELECT seq FROM payments WHERE tracking_id = ? AND log_offset = ?").pluck().get(trackingId, offset));
  const pruned = seqOf("t", 1);
  // What a prune of "t" at 1 leaves when the process dies after the index's commit: the entries gone and the row listed, the row still there.
  withFile(indexPath, (db) => {
    db.prepare("DELETE FROM payment_log WHERE seq = ?").run(pruned);
    db.prepare("INSERT INTO pruning (seq) VALUES (?)").run(pruned);
  });
  const listed = () => withFile(indexPath, (db) => db.prepare("SELECT seq FROM pruning").pluck().all());
  const store = openSqliteStore({ path });
  try {
    assert.equal(await store.prune({ keepPerTrackingId: 5 }), 1);
    assert.equal(seqOf("t", 1), undefined);
    assert.equal(seqOf("t", 2) !== undefined && seqOf("u", 1) !== undefined, true);
    // The table's delete committed: the next prune sees the row gone and forgets it.
    assert.deepEqual(listed(), [pruned]);
    assert.equal(await store.prune({ keepPerTrackingId: 5 }), 0);
    assert.deepEqual(listed(), []);
    assert.equal(await store.latestOffset("t"), 2);
  } finally {
    await store.close();
  }
});

test("payment index: a tracking ID whose last row a crashed prune left behind keeps its head when the next prune deletes it", async () => {
  const { path } = await storeWithPayments();
  const only = withFile(path, (db) => db.prepare("SELECT seq FROM payments WHERE tracking_id = 'u'").pluck().get());
  // A prune by age of "u", stopped after the index's commit: the head it wrote went with the table's transaction.
  withFile(paymentIndexPath(path), (db) => {
    db.prepare("DELETE FROM payment_log WHERE seq = ?").run(only);
    db.prepare("INSERT INTO pruning (seq) VALUES (?)").run(only);
  });
  const store = openSqliteStore({ path });
  try {
    assert.equal(await store.prune({ keepPerTrackingId: 5 }), 1);
    assert.equal(await store.latestOffset("u"), 1);
    const [next] = await store.append([paymentInput("u")]);
    assert.equal(next?.payment.offset, 2);
  } finally {
    await store.close();
  }
});

test("payment index: the payments file's write-ahead log starts over while every group brings tracking IDs the writer has not seen", async () => {
  // Each new tracking ID's head is read from the files; a read that held the
  // payments file until the index committed kept every checkpoint short of
  // the newest frames, and the log grew by every group.
  const path = join(dir, `payments-${++files}.sqlite`);
  const store = openSqliteStore({ path });
  let frames: number;
  try {
    for (let group = 0; group < 800; group++) {
      await store.append(Array.from({ length: 25 }, (_, i) => paymentInput(`wal-${group}-${i}`)));
    }
    frames = walHighWater(path);
  } finally {
    await store.close();
  }
  // SQLite checkpoints past 1,000 frames and starts the log over, so a log
  // that restarts never holds much more. The 20,000 payments above take
  // about 4,800 frames when it never does.
  assert.ok(frames < 1_200, `the payments file's write-ahead log reached ${frames} frames`);
});

/**
 * The most frames the payments file's write-ahead log has held while open:
 * a log that starts over keeps its file's size and is written from its start.
 */
function walHighWater(path: string): number {
  return Math.floor(statSync(`${path}-wal`).size / (4096 + 24));
}
