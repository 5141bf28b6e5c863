import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import { switchToWal } from "../../src/store/sqlite-database.js";

/**
 * Another connection, on a thread of its own, takes the write lock of a fresh
 * file (still in rollback mode) and holds it until `go` is set, then for
 * `holdMs` more: long enough that a switch started right after `go` meets it.
 */
async function holdWriteLock(path: string, holdMs: number): Promise<{ go: () => void; released: Promise<unknown> }> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const holder = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     const Database = require("better-sqlite3");
     const db = new Database(workerData.path);
     db.exec("BEGIN IMMEDIATE; INSERT INTO t VALUES (1)");
     parentPort.postMessage("held");
     Atomics.wait(workerData.flag, 0, 0);
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs);
     db.exec("COMMIT");
     db.close();
     parentPort.postMessage("released");`,
    { eval: true, workerData: { path, flag, holdMs } },
  );
  await once(holder, "message");
  const released = once(holder, "message");
  return {
    go: () => {
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    },
    released,
  };
}

/** A fresh file whose write lock another thread holds, and a connection to it that waits 30 s for locks. */
async function besideAHeldLock(t: { after: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), "tributary-wal-switch-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "fresh.sqlite");
  const setup = new Database(path);
  setup.exec("CREATE TABLE t (x)");
  setup.close();
  const holder = await holdWriteLock(path, 200);
  const db = new Database(path, { timeout: 30_000 });
  t.after(() => db.close());
  return { db, holder };
}

test("SQLite refuses at once, busy timeout or not, to switch a file to WAL while another connection holds its write lock", async (t) => {
  const { db, holder } = await besideAHeldLock(t);
  holder.go();
  assert.throws(() => db.pragma("journal_mode = WAL"), { code: "SQLITE_BUSY" });
  await holder.released;
});

test("switchToWal waits for that lock and switches the file", async (t) => {
  const { db, holder } = await besideAHeldLock(t);
  holder.go();
  switchToWal(db);
  await holder.released;
  assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
  assert.deepEqual(db.prepare("SELECT x FROM t").pluck().all(), [1], "the other connection's write committed first");
});
