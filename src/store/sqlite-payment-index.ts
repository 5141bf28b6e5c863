import { existsSync, rmSync } from "node:fs";
import Database from "better-sqlite3";
import { currentBoot, sameBoot } from "./boot-identity.js";
import { besidePaymentsFile, MMAP_BYTES, OPENING_BUSY_TIMEOUT_MS, runMigrations, switchToWal } from "./sqlite-database.js";

/**
 * The payments' random-key index, (tracking ID, offset) → row, kept in a
 * SQLite file of its own that is never synced (identities live in the
 * writer's memory: identity-table.ts).
 * The payments table stays the durable record (synced on every commit) and
 * only appends; this file can always be rebuilt from it. A page the index
 * dirties again and again is then written to disk once per writeback rather
 * than once per commit: about 1.4 instead of 23.5 KB per payment at
 * 10,000/s (docs/decisions/payment-log.md).
 *
 * `indexed_seq` is the highest payments `seq` the file holds. A writer
 * indexes the rows past it at the start of every group, under the table's
 * write lock, so the index is complete whenever offsets are taken from it,
 * whether the missing rows came from a crash between the two commits or
 * from another process. `boot_id` and `clean` tell a file torn by
 * an operating-system crash (it was not closed cleanly during another boot):
 * such a file is rebuilt.
 */
const indexSchema = (schema: string) => `
  CREATE TABLE ${schema}.index_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_seq INTEGER NOT NULL,
    boot_id     TEXT    NOT NULL,
    clean       INTEGER NOT NULL
  );
  INSERT INTO ${schema}.index_state (id, indexed_seq, boot_id, clean) VALUES (1, 0, '', 0);
  CREATE TABLE ${schema}.payment_identity (
    signature   TEXT    NOT NULL,
    event_index INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (signature, event_index)
  ) WITHOUT ROWID;
  CREATE TABLE ${schema}.payment_log (
    tracking_id TEXT    NOT NULL,
    log_offset  INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (tracking_id, log_offset)
  ) WITHOUT ROWID;`;

/**
 * The rows a prune is deleting: retention commits the index's deletes
 * first, so a crash before the table's commit would leave rows no index
 * points at. Each prune deletes the listed rows the table still has and
 * unlists those it no longer has (SqliteWriter's finishPruning).
 */
const pruningSchema = (schema: string) => `
  CREATE TABLE ${schema}.pruning (seq INTEGER PRIMARY KEY);`;

/**
 * How far the last prune by count went: every tracking ID held at most
 * `keep` rows among those up to `through_seq` when it ended (prune-steps.ts).
 * Lost with a rebuilt file, which costs the next prune a full pass.
 */
const countPruneSchema = (schema: string) => `
  CREATE TABLE ${schema}.count_prune (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    keep        INTEGER NOT NULL,
    through_seq INTEGER NOT NULL
  );`;

/**
 * Identities moved to the writer's memory (identity-table.ts): a B-tree on
 * random signatures cost a page per payment.
 */
const withoutIdentities = (schema: string) => `
  DROP TABLE ${schema}.payment_identity;`;

/**
 * The writer's identity table as its last clean close left it, good for
 * every row up to `through_seq`: a writer never hands out a `seq` at or
 * below what its table covers (sqlite-writer.ts), and a rebuilt file loses
 * it. A start reads it and catches up on the rows past it instead of
 * reading every row.
 */
const identitySnapshotSchema = (schema: string) => `
  CREATE TABLE ${schema}.identity_snapshot (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seed        INTEGER NOT NULL,
    through_seq INTEGER NOT NULL,
    entries     INTEGER NOT NULL,
    hashes      BLOB    NOT NULL,
    seqs        BLOB    NOT NULL
  );`;

const migrations = (schema: string) => [
  indexSchema(schema),
  pruningSchema(schema),
  countPruneSchema(schema),
  withoutIdentities(schema),
  identitySnapshotSchema(schema),
];
const MIGRATIONS: readonly string[] = migrations("main");

/** The writer's page cache for the index file, in KiB: the offsets of roughly a million payments. */
export const INDEX_CACHE_KIB = 64 * 1024;

/** Where a payments file keeps its index file: `tributary.sqlite` → `tributary.index.sqlite`. */
export function paymentIndexPath(paymentsPath: string): string {
  return besidePaymentsFile(paymentsPath, "index");
}

/**
 * Makes a connection to the payments file (or an in-memory store) see the
 * index tables by their plain names, read through an attachment. Not
 * mapped: the connections that attach it read beside the writer's commits
 * (`mmap` in sqlite-database.ts).
 */
export function attachPaymentIndex(db: Database.Database, paymentsPath: string): void {
  if (paymentsPath === ":memory:") {
    db.prepare("ATTACH ':memory:' AS payment_index").run();
    db.exec(migrations("payment_index").join(""));
    return;
  }
  db.prepare("ATTACH ? AS payment_index").run(paymentIndexPath(paymentsPath));
}

/**
 * A writer's connection to the index file, with the payments file attached
 * as `log` for catching up. The index file's own statements need no schema
 * name; `payments` and `tracking_heads` resolve to the attached file.
 */
export function openPaymentIndex(paymentsPath: string, busyTimeoutMs: number): Database.Database {
  const index = new Database(paymentIndexPath(paymentsPath), { timeout: busyTimeoutMs });
  try {
    switchToWal(index);
    // Never synced: the table is the durable record, and a torn file is rebuilt (see above).
    index.pragma("synchronous = OFF");
    // Read through a mapping, as the payments file is (sqlite-database.ts),
    // and most of it kept in SQLite's own cache: a page the last commits
    // changed is read from the WAL otherwise, a read() each. Both measured
    // in docs/decisions/payment-log.md.
    index.pragma(`mmap_size = ${MMAP_BYTES}`);
    index.pragma(`cache_size = -${INDEX_CACHE_KIB}`);
    // Migrated before the attachment: an IMMEDIATE transaction would take the payments file's lock too.
    runMigrations(index, MIGRATIONS, "payment index");
    index.prepare("ATTACH ? AS log").run(paymentsPath);
    return index;
  } catch (error) {
    index.close();
    throw error;
  }
}

/**
 * Brings the index file up to date with the payments table before anything
 * else of this process opens it: rebuilds a file another boot left torn
 * (or one that cannot be read) or one ahead of the table (a restored
 * backup of the payments file), then indexes the rows it misses. `db` is a
 * connection to the payments file; its write lock is held throughout, so
 * that processes starting together do this one after the other.
 */
export function preparePaymentIndex(db: Database.Database, paymentsPath: string, busyTimeoutMs: number): void {
  const indexPath = paymentIndexPath(paymentsPath);
  const bootId = currentBoot();
  // Another process may be rebuilding a large file: wait as long as for a migration.
  db.pragma(`busy_timeout = ${OPENING_BUSY_TIMEOUT_MS}`);
  db.exec("BEGIN IMMEDIATE");
  try {
    if (existsSync(indexPath) && !trustworthy(indexPath, bootId)) removeIndexFile(indexPath);
    const index = openIndexOfThisTable(paymentsPath, busyTimeoutMs);
    try {
      index.transaction(() => {
        index.prepare("UPDATE index_state SET boot_id = ?, clean = 0 WHERE id = 1").run(bootId);
        catchUpPaymentIndex(index, indexedSeq(index));
      })();
    } finally {
      index.close();
    }
  } finally {
    db.exec("COMMIT");
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  }
}

function removeIndexFile(indexPath: string): void {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(indexPath + suffix, { force: true });
}

/** Opens the index file, first replacing one that is ahead of the table. */
function openIndexOfThisTable(paymentsPath: string, busyTimeoutMs: number): Database.Database {
  const index = openPaymentIndex(paymentsPath, busyTimeoutMs);
  let ahead: boolean;
  try {
    ahead = pointsPastTable(index);
  } catch (error) {
    index.close();
    throw error;
  }
  if (!ahead) return index;
  index.close();
  removeIndexFile(paymentIndexPath(paymentsPath));
  return openPaymentIndex(paymentsPath, busyTimeoutMs);
}

/**
 * Whether the index holds entries for rows past the table's last one: the
 * payments file went back, as when a backup of it is restored beside a newer
 * index file. Retention can delete the newest rows too, but it deletes their
 * entries first, so only a table that went back leaves such entries. Scanned
 * only when the mark is past the table's end, which is otherwise rare.
 */
function pointsPastTable(index: Database.Database): boolean {
  const top = tableTop(index);
  if (indexedSeq(index) <= top) return false;
  return index.prepare("SELECT 1 FROM payment_log WHERE seq > ? LIMIT 1").get(top) !== undefined;
}

/** The table's highest `seq`, read through the index connection's attachment. */
function tableTop(index: Database.Database): number {
  return (index.prepare("SELECT coalesce(max(seq), 0) AS top FROM payments").get() as { top: number }).top;
}

/** The highest payments `seq` the index holds. */
export function indexedSeq(index: Database.Database): number {
  return (index.prepare("SELECT indexed_seq FROM index_state WHERE id = 1").get() as { indexed_seq: number }).indexed_seq;
}

/**
 * Indexes the payments past `after`; inside a transaction of `index` whose
 * caller holds the payments file's write lock. Rows are taken in key order,
 * so rebuilding a large file fills each B-tree page once. Returns the new mark.
 */
export function catchUpPaymentIndex(index: Database.Database, after: number): number {
  index
    .prepare(
      `INSERT OR REPLACE INTO payment_log (tracking_id, log_offset, seq)
         SELECT tracking_id, log_offset, seq FROM payments WHERE seq > ? ORDER BY tracking_id, log_offset`,
    )
    .run(after);
  const mark = Math.max(after, tableTop(index));
  index.prepare("UPDATE index_state SET indexed_seq = max(indexed_seq, ?) WHERE id = 1").run(mark);
  return mark;
}

/**
 * Closes a writer's index connection, marking the file clean when all of it
 * reached the disk first. Another process still reading it can keep the WAL
 * from being emptied; the file then stays unmarked, and is only rebuilt if
 * the machine restarts before a later clean close.
 */
export function closePaymentIndex(index: Database.Database): void {
  try {
    index.pragma("main.synchronous = FULL");
    const [result] = index.pragma("main.wal_checkpoint(TRUNCATE)") as Array<{ busy: number }>;
    if (result?.busy === 0) index.prepare("UPDATE index_state SET clean = 1 WHERE id = 1").run();
  } finally {
    index.close();
  }
}

/**
 * Whether a file can be kept: closed cleanly, or left by a process of this
 * boot (whose writes the page cache still holds). Only a file that is not an
 * index file, or a damaged one, is refused for what it holds; any other
 * error (a lock held too long) is thrown, since a file deleted while
 * another process uses it would lose that process's writes.
 */
function trustworthy(indexPath: string, bootId: string): boolean {
  const index = new Database(indexPath, { fileMustExist: true, timeout: OPENING_BUSY_TIMEOUT_MS });
  try {
    const state = index.prepare("SELECT boot_id, clean FROM index_state WHERE id = 1").get() as
      | { boot_id: string; clean: number }
      | undefined;
    if (state === undefined) return false;
    return state.clean === 1 || sameBoot(state.boot_id, bootId);
  } catch (error) {
    if (error instanceof Database.SqliteError && UNREADABLE.test(error.code + " " + error.message)) return false;
    throw error;
  } finally {
    index.close();
  }
}

/** What a torn or foreign file answers: not the schema, or not a database. */
const UNREADABLE = /^SQLITE_(CORRUPT|NOTADB)|^SQLITE_ERROR no such table/;
