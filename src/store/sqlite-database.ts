import { mkdirSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import Database from "better-sqlite3";
import { paymentId, type PaymentStatus, type StoredPayment } from "../payment.js";
import { StoreFatalError } from "./payment-store.js";

/** Each entry moves the schema one version up; `PRAGMA user_version` records how far a file is. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE payments (
     tracking_id    TEXT    NOT NULL,
     log_offset     INTEGER NOT NULL,
     signature      TEXT    NOT NULL,
     event_index    INTEGER NOT NULL,
     amount         TEXT    NOT NULL,
     timestamp      INTEGER NOT NULL,
     status         TEXT    NOT NULL,
     payment_policy TEXT,
     gateway        TEXT,
     payer          TEXT,
     recipient      TEXT,
     token_mint     TEXT,
     record_id      INTEGER,
     slot           INTEGER,
     received_at    INTEGER NOT NULL,
     PRIMARY KEY (tracking_id, log_offset)
   ) WITHOUT ROWID;
   CREATE UNIQUE INDEX payments_identity ON payments (signature, event_index);
   -- The head is kept apart from the rows so that offsets never restart,
   -- even if retention one day deletes every row of a tracking ID.
   CREATE TABLE tracking_heads (
     tracking_id TEXT PRIMARY KEY,
     last_offset INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE checkpoints (
     source     TEXT PRIMARY KEY,
     value      TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // Retention by age walks this index instead of the whole table.
  `CREATE INDEX payments_received_at ON payments (received_at);`,
  // Rows keyed by (tracking_id, log_offset) land on random pages when many
  // tracking IDs are paid at once, and every commit rewrites each page it
  // touched. Keyed by insertion order, new rows fill the last pages instead,
  // and only the narrow indexes take random writes: about twice the batched
  // ingest rate (measured with 600k payments over 5,000 tracking IDs).
  `CREATE TABLE payments_by_arrival (
     seq            INTEGER PRIMARY KEY,
     tracking_id    TEXT    NOT NULL,
     log_offset     INTEGER NOT NULL,
     signature      TEXT    NOT NULL,
     event_index    INTEGER NOT NULL,
     amount         TEXT    NOT NULL,
     timestamp      INTEGER NOT NULL,
     status         TEXT    NOT NULL,
     payment_policy TEXT,
     gateway        TEXT,
     payer          TEXT,
     recipient      TEXT,
     token_mint     TEXT,
     record_id      INTEGER,
     slot           INTEGER,
     received_at    INTEGER NOT NULL
   );
   INSERT INTO payments_by_arrival (tracking_id, log_offset, signature, event_index, amount, timestamp, status,
       payment_policy, gateway, payer, recipient, token_mint, record_id, slot, received_at)
     SELECT tracking_id, log_offset, signature, event_index, amount, timestamp, status,
       payment_policy, gateway, payer, recipient, token_mint, record_id, slot, received_at
     FROM payments ORDER BY received_at, tracking_id, log_offset;
   DROP TABLE payments;
   ALTER TABLE payments_by_arrival RENAME TO payments;
   CREATE UNIQUE INDEX payments_log ON payments (tracking_id, log_offset);
   CREATE UNIQUE INDEX payments_identity ON payments (signature, event_index);
   CREATE INDEX payments_received_at ON payments (received_at);`,
  // Policy lifecycle events: a log of their own beside the payments (whose
  // table and offsets stay as they are), and the policy → tracking ID
  // directory, kept after a policy is deleted.
  `CREATE TABLE policy_events (
     tracking_id     TEXT    NOT NULL,
     policy_offset   INTEGER NOT NULL,
     after_offset    INTEGER NOT NULL,
     signature       TEXT    NOT NULL,
     event_index     INTEGER NOT NULL,
     payment_policy  TEXT    NOT NULL,
     status          TEXT    NOT NULL,
     previous_status TEXT,
     timestamp       INTEGER NOT NULL,
     gateway         TEXT,
     recipient       TEXT,
     slot            INTEGER,
     received_at     INTEGER NOT NULL,
     PRIMARY KEY (tracking_id, policy_offset)
   ) WITHOUT ROWID;
   CREATE UNIQUE INDEX policy_events_identity ON policy_events (signature, event_index);
   CREATE TABLE policy_heads (
     tracking_id TEXT PRIMARY KEY,
     last_offset INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE policy_directory (
     payment_policy TEXT PRIMARY KEY,
     tracking_id    TEXT NOT NULL,
     source         TEXT NOT NULL,
     may_complete   INTEGER,
     learned_at     INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // A position in commit order across tracking IDs for readers of the whole
  // policy log (the webhook outbox), as payments.seq is for payments. Writers
  // hold the file's write lock, so max(seq) + 1 is handed out in commit order.
  `ALTER TABLE policy_events ADD COLUMN seq INTEGER;
   UPDATE policy_events SET seq = (SELECT n FROM (
       SELECT tracking_id AS t, policy_offset AS o, row_number() OVER (ORDER BY received_at, tracking_id, policy_offset) AS n
       FROM policy_events) WHERE t = policy_events.tracking_id AND o = policy_events.policy_offset);
   CREATE UNIQUE INDEX policy_events_seq ON policy_events (seq);`,
  // The two random-key indexes move to the index file (sqlite-payment-index.ts),
  // which the store builds from this table when it opens the file.
  `DROP INDEX payments_log;
   DROP INDEX payments_identity;`,
];

/**
 * The latest offset of the tracking ID `id` names. Appends do not write a
 * head row (that was a random page per payment): the newest row is the head,
 * found at the end of the index file's `payment_log`. Only retention writes
 * `tracking_heads`, before it deletes rows, and files from before this rule
 * have theirs there. Runs on a connection that sees both files.
 */
function paymentHead(id: string): string {
  return `max(coalesce((SELECT max(log_offset) FROM payment_log WHERE tracking_id = ${id}), 0),
        coalesce((SELECT last_offset FROM tracking_heads WHERE tracking_id = ${id}), 0))`;
}

/** A tracking ID's latest offset; bind the tracking ID twice. */
export const PAYMENT_HEAD_SQL = `SELECT ${paymentHead("?")} AS last_offset`;

/** Both heads of the tracking ID `id` names: the payment head and the policy head. */
function headColumns(id: string): string {
  return `${paymentHead(id)} AS latest_offset,
    coalesce((SELECT last_offset FROM policy_heads WHERE tracking_id = ${id}), 0) AS latest_policy_offset`;
}

/**
 * Both heads of each tracking ID in a JSON array, in its order. One
 * statement for all of them is one read transaction on each file, which is
 * most of what a head read costs.
 */
export const TRACKING_HEADS_SQL = `SELECT ${headColumns("ids.value")} FROM json_each(?) AS ids ORDER BY ids.key`;

/**
 * Both heads of one tracking ID, bound as `trackingId`: without the JSON
 * array and its sort a read of one takes about 2 µs (a tenth) less
 * (bench/store-reads.ts), and one at a time is how subscribes usually come.
 */
export const TRACKING_HEAD_SQL = `SELECT ${headColumns("@trackingId")}`;

/**
 * A tracking ID's payments after an offset, in offset order; bind the
 * tracking ID, the offset and a limit. The index file says where they are;
 * an entry whose row is gone drops out of the join.
 */
export const PAYMENT_PAGE_SQL = `SELECT p.* FROM payment_log l JOIN payments p ON p.seq = l.seq
    WHERE l.tracking_id = ? AND l.log_offset > ? ORDER BY l.log_offset LIMIT ?`;

/** A file kept beside a payments file: (`data/tributary.sqlite`, `index`) → `data/tributary.index.sqlite`. */
export function besidePaymentsFile(paymentsPath: string, part: string): string {
  const extension = extname(paymentsPath);
  return join(dirname(paymentsPath), `${basename(paymentsPath, extension)}.${part}${extension || ".sqlite"}`);
}

/** How long opening a file waits for another process's switch to WAL or migration. */
export const OPENING_BUSY_TIMEOUT_MS = 30_000;

/** Most of the file mapped into memory per connection; a larger file is read beyond it as usual. */
export const MMAP_BYTES = 256 * 1024 * 1024;

export interface SqliteConnectionOptions {
  /** File path, or `:memory:` for a throwaway store. */
  path: string;
  /** How long (ms) a write waits for a lock held by another connection before failing. */
  busyTimeoutMs: number;
  /** Bring the schema up to date; the first connection to a file does it, later ones trust it. */
  migrate: boolean;
  /**
   * Read the file through a memory mapping: for the writer only. SQLite
   * unmaps the whole file at the start of a read transaction whenever
   * another connection has committed since the last one, so a reader beside
   * a busy writer maps the file again, and faults its pages in again, for
   * nearly every read: 4 – 6 times the cost of reading the same pages with
   * `pread` (docs/performance.md, "Reads beside a busy writer").
   */
  mmap: boolean;
}

export function openSqliteConnection(options: SqliteConnectionOptions): Database.Database {
  if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
  // Processes starting together (worker processes) take turns to switch a
  // fresh file to WAL and migrate it; on a loaded machine a turn can outlast
  // the busy timeout meant for appends, and a start that waits beats one that fails.
  const db = new Database(options.path, { timeout: Math.max(options.busyTimeoutMs, OPENING_BUSY_TIMEOUT_MS) });
  switchToWal(db);
  // FULL syncs the WAL on every commit: a payment acknowledged to its source
  // survives a power cut, not only a process crash.
  db.pragma("synchronous = FULL");
  // Index pages read through a mapping instead of a read() copy each: the
  // writer spends 12 – 17 % less CPU per payment once the indexes outgrow
  // the page cache (300,000 payments; docs/decisions/payment-log.md).
  if (options.mmap) db.pragma(`mmap_size = ${MMAP_BYTES}`);
  if (options.migrate) migrate(db);
  db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
  return db;
}

/** How long a connection waits before it tries again to switch a file that another is switching to WAL. */
const WAL_SWITCH_RETRY_MS = 5;

/**
 * Puts the connection's file in WAL mode. SQLite answers SQLITE_BUSY at once,
 * without waiting for the busy timeout, when another connection holds the
 * file's write lock while this one switches it (the switch turns a read into
 * a write, where SQLite does not wait, lest two such connections wait for
 * each other): processes opening one fresh file together hit this. So the
 * switch is tried again until it is done or OPENING_BUSY_TIMEOUT_MS is over.
 */
export function switchToWal(db: Database.Database): void {
  const deadline = Date.now() + OPENING_BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      db.pragma("journal_mode = WAL");
      return;
    } catch (error) {
      if (!(error instanceof Database.SqliteError && error.code === "SQLITE_BUSY") || Date.now() >= deadline) throw error;
    }
    // Opening is synchronous; the other connection is in another thread or process.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, WAL_SWITCH_RETRY_MS);
  }
}

/** Brings the schema up to `target` (the newest by default; tests build older files with a lower one). */
export function migrate(db: Database.Database, target = MIGRATIONS.length): void {
  runMigrations(db, MIGRATIONS, "database", target);
}

/** Brings a file's schema (`PRAGMA user_version`) up to `target` of `migrations`; `schema` names it in the error for a newer file. */
export function runMigrations(db: Database.Database, migrations: readonly string[], schema: string, target = migrations.length): void {
  // The version is read under the write lock: processes opening one file
  // together (worker processes) migrate it once, one after the other.
  db.transaction(() => {
    const current = db.pragma("user_version", { simple: true }) as number;
    if (current > migrations.length) {
      throw new Error(`${schema} schema version ${current} is newer than this build knows (${migrations.length})`);
    }
    for (let version = current; version < target; version++) {
      db.exec(migrations[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    }
  }).immediate();
}

export interface PaymentRow {
  tracking_id: string;
  log_offset: number;
  signature: string;
  event_index: number;
  amount: string;
  timestamp: number;
  status: string;
  payment_policy: string | null;
  gateway: string | null;
  payer: string | null;
  recipient: string | null;
  token_mint: string | null;
  record_id: number | null;
  slot: number | null;
  received_at: number;
}

export function toPayment(row: PaymentRow): StoredPayment {
  return {
    id: paymentId(row.signature, row.event_index),
    trackingId: row.tracking_id,
    offset: row.log_offset,
    signature: row.signature,
    eventIndex: row.event_index,
    amount: BigInt(row.amount),
    timestamp: row.timestamp,
    status: row.status as PaymentStatus,
    paymentPolicy: row.payment_policy ?? undefined,
    gateway: row.gateway ?? undefined,
    payer: row.payer ?? undefined,
    recipient: row.recipient ?? undefined,
    tokenMint: row.token_mint ?? undefined,
    recordId: row.record_id ?? undefined,
    slot: row.slot ?? undefined,
    receivedAt: row.received_at,
  };
}

// Result codes after which the file cannot be trusted or reached again without
// an operator: retrying would only fail the same way.
const FATAL_CODES = /^SQLITE_(CORRUPT|NOTADB|IOERR|CANTOPEN|READONLY|FULL)/;

/** Tells a broken store (fatal: the app exits) from a passing failure such as a busy lock. */
export function classifySqliteError(error: unknown): unknown {
  if (error instanceof Database.SqliteError && FATAL_CODES.test(error.code)) return new StoreFatalError(error);
  return error;
}
