import type Database from "better-sqlite3";

/** Tracking IDs whose head is remembered; past this the memory is emptied and refilled from the file. */
export const MAX_REMEMBERED_HEADS = 100_000;

/**
 * Each tracking ID's newest offset, as the writer last committed it, so that
 * an append reads its head from the file only the first time it sees the
 * tracking ID. Reading it costs two index lookups per payment otherwise.
 *
 * The file stays the truth. Another connection may commit in between (a
 * second process on the same file, or this process's main thread): SQLite's
 * `data_version` then differs at the start of the next transaction and all
 * remembered heads are forgotten. Heads handed out inside a transaction are
 * kept apart until it commits, and dropped if it rolls back.
 *
 * A head is read in two parts, each on the connection that owns its file:
 * the index connection reading the payments file through its attachment
 * would hold a snapshot of it until the index commits, after the table's
 * commit and its checkpoint. That checkpoint could then never copy the
 * newest frames, the write-ahead log never started over, and it grew by
 * every group while new tracking IDs kept coming
 * (docs/decisions/payment-log.md, "A head read that held the log").
 */
export class SqliteOffsetHeads {
  private readonly indexedHead: Database.Statement<[string], number | null>;
  private readonly keptHead: Database.Statement<[string], number | undefined>;
  private readonly version: Database.Statement<[], number>;
  private readonly committed = new Map<string, number>();
  private readonly pending = new Map<string, number>();
  private seenVersion: number | undefined;

  /** `db` holds the payments; `index` sees the index file's `payment_log` (the same connection for an in-memory store). */
  constructor(db: Database.Database, index: Database.Database) {
    // The two halves of PAYMENT_HEAD_SQL (sqlite-database.ts).
    this.indexedHead = index.prepare<[string], number | null>("SELECT max(log_offset) FROM payment_log WHERE tracking_id = ?").pluck();
    this.keptHead = db.prepare<[string], number>("SELECT last_offset FROM tracking_heads WHERE tracking_id = ?").pluck();
    this.version = db.prepare<[], number>("PRAGMA data_version").pluck();
  }

  /** Inside a write transaction, before its first {@link next}: forgets every head when another connection committed since. */
  begin(): void {
    this.pending.clear();
    const version = this.version.get();
    if (version !== this.seenVersion) this.committed.clear();
    this.seenVersion = version;
  }

  /** The offset the tracking ID's next payment gets in this transaction; {@link took} records that it did. */
  next(trackingId: string): number {
    return (this.pending.get(trackingId) ?? this.committed.get(trackingId) ?? this.read(trackingId)) + 1;
  }

  /** A payment was inserted with this offset (a duplicate takes none). */
  took(trackingId: string, offset: number): void {
    this.pending.set(trackingId, offset);
  }

  /** The next offset as the file has it, remembered heads aside: for a transaction whose requests may roll back one by one. */
  nextFromFile(trackingId: string): number {
    return this.read(trackingId) + 1;
  }

  /** The transaction committed: its heads are the file's now. */
  committedTransaction(): void {
    if (this.committed.size + this.pending.size > MAX_REMEMBERED_HEADS) this.committed.clear();
    for (const [trackingId, offset] of this.pending) this.committed.set(trackingId, offset);
    this.pending.clear();
  }

  /** The transaction rolled back: read the heads again. */
  forget(): void {
    this.pending.clear();
    this.committed.clear();
  }

  /** The tracking ID's newest offset in the index file (0 for none), retention's written heads aside. */
  newestIndexed(trackingId: string): number {
    return this.indexedHead.get(trackingId) ?? 0;
  }

  private read(trackingId: string): number {
    return Math.max(this.newestIndexed(trackingId), this.keptHead.get(trackingId) ?? 0);
  }
}
