import type Database from "better-sqlite3";
import { storedPayment, type PaymentInput, type StoredPayment } from "../payment.js";
import { assertSameContent, type AppendOutcome, type RetentionPolicy } from "./payment-store.js";
import { openSqliteConnection, toPayment, type PaymentRow } from "./sqlite-database.js";
import { IdentityTable, type IdentitySnapshot } from "./identity-table.js";
import { countStage, type PruneCursor, type PruneStepResult } from "./prune-steps.js";
import { SqliteOffsetHeads } from "./sqlite-offset-heads.js";
import { catchUpPaymentIndex, closePaymentIndex, openPaymentIndex } from "./sqlite-payment-index.js";

/**
 * Rows one prune step deletes at most: appends sent meanwhile wait for one
 * step (20 – 35 ms here; docs/decisions/payment-log.md), and other
 * processes for the write lock as long.
 */
const PRUNE_CHUNK = 1000;
/** Tracking IDs one step of a prune by count looks at, so one step never reads the whole index. */
const PRUNE_SCAN_TRACKING_IDS = 1000;
/** Rows past the last prune by count that one step looks at (their tracking IDs'). */
const PRUNE_SCAN_NEW_ROWS = 1000;
/** How many of the newest rows a saved identity table is checked against before it is used. */
const SAVED_IDENTITIES_CHECKED = 32;

/**
 * One request's share of a group commit, or why it alone was rolled back.
 * Compact, as it crosses from the writer thread: the caller still holds the
 * payments it sent, so an offset each is enough; only duplicates come back whole.
 */
export type RequestResult = CommittedRequest | { error: unknown };

export interface CommittedRequest {
  receivedAt: number;
  /** The offset given to each payment of the request, in order (a duplicate's is its stored one). */
  offsets: number[];
  /** Index in the request → the payment already stored with that identity. */
  duplicates: Array<[number, StoredPayment]>;
}

/** The store's answer to an append, from what the writer returned for it. */
export function appendOutcomes(payments: readonly PaymentInput[], committed: CommittedRequest): AppendOutcome[] {
  // Nearly always empty: no map is built per request then.
  const duplicates = committed.duplicates.length === 0 ? undefined : new Map(committed.duplicates);
  return payments.map((input, index): AppendOutcome => {
    const stored = duplicates?.get(index);
    if (stored !== undefined) return { payment: stored, duplicate: true };
    const offset = committed.offsets[index] ?? 0;
    return { payment: storedPayment(input, offset, committed.receivedAt), duplicate: false };
  });
}

/** Where an append takes its tracking ID's next offset, and tells that it took it. */
interface HeadSource {
  next(trackingId: string): number;
  took(trackingId: string, offset: number): void;
}

/** A request of the group failed; the whole group is rolled back to be run again request by request. */
class RequestFailure extends Error {
  constructor(override readonly cause: unknown) {
    super("an append request of the group failed", { cause });
  }
}

/** Which file commits first when a transaction writes both. */
type CommitOrder = "table-first" | "index-first";

/** A payment row as retention deletes it from both files. */
interface PrunedRow {
  seq: number;
  tracking_id: string;
  log_offset: number;
  signature: string;
  event_index: number;
}

/** The writer of a SQLite store file, on connections of its own (see {@link SqliteWriter}). */
export function openSqliteFileWriter(path: string, busyTimeoutMs: number, now: () => number): SqliteWriter {
  // The store migrated the file and prepared its index before starting a writer.
  const db = openSqliteConnection({ path, busyTimeoutMs, migrate: false, mmap: true });
  try {
    return new SqliteWriter(db, openPaymentIndex(path, busyTimeoutMs), now);
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Everything that writes to a SQLite store. It is synchronous, like
 * better-sqlite3: the store runs it on a thread of its own (see
 * sqlite-writer-thread.ts) so that statements and the commit's fsync do not
 * stall the event loop, or inline for an in-memory store.
 *
 * It writes two files (sqlite-payment-index.ts): the payments table, synced
 * on every commit, through `db`, and the index file, never synced, through
 * `index`. An in-memory store has both in one connection.
 */
export class SqliteWriter {
  private readonly separate: boolean;
  private readonly bySeq: Database.Statement<[number], PaymentRow>;
  private readonly identitiesAfter: Database.Statement<[number], [number, string, number]>;
  private readonly savedIdentities: Database.Statement<[], IdentitySnapshot & { through_seq: number }>;
  private readonly newestRowsThrough: Database.Statement<[number], [number, string, number]>;
  private readonly saveIdentities: Database.Statement<[number, number, number, Uint8Array, Uint8Array]>;
  private readonly addToLog: Database.Statement<[string, number, number]>;
  private readonly markIndexed: Database.Statement<[number]>;
  private readonly indexedSeq: Database.Statement<[], number>;
  private readonly topSeq: Database.Statement<[], number>;
  private readonly forgetOffset: Database.Statement<[string, number, number]>;
  private readonly deleteRow: Database.Statement<[number]>;
  private readonly deleteRowReturning: Database.Statement<[number], { tracking_id: string; log_offset: number }>;
  private readonly keepHead: Database.Statement<[string, number]>;
  private readonly oldestRows: Database.Statement<[number, number], PrunedRow>;
  private readonly headsAfter: Database.Statement<[string, number], { tracking_id: string; last_offset: number }>;
  private readonly olderRows: Database.Statement<[string, number, number], PrunedRow>;
  private readonly pruningSeqs: Database.Statement<[], number>;
  private readonly recordPruning: Database.Statement<[number]>;
  private readonly forgetPruning: Database.Statement<[number]>;
  private readonly forgetPrunedAll: Database.Statement<[string]>;
  private readonly countPruneMark: Database.Statement<[], { keep: number; through_seq: number }>;
  private readonly recordCountPrune: Database.Statement<[number, number]>;
  private readonly rowsAfter: Database.Statement<[number, number, number], { seq: number; tracking_id: string }>;
  /**
   * The `seq`s the last prune step of this writer listed and saw both
   * commits of: the next step unlists them in one statement instead of
   * looking each up in the table.
   */
  private committedPruning: number[] = [];
  /** The `seq`s the running prune step lists, until its transaction commits. */
  private listing: number[] = [];
  private readonly heads: SqliteOffsetHeads;
  /**
   * The identities of the table's rows, read from it on the first append
   * (only a process that appends holds them) and kept up to date after
   * that; {@link identitiesThrough} is the highest `seq` whose row it holds.
   */
  private identities: IdentityTable | undefined;
  private identitiesThrough = 0;
  /** The table's highest `seq` when the running transaction began. */
  private tableTop = 0;
  /** Identities the running prune step deletes: taken out of {@link identities} once it commits. */
  private pruned: PrunedRow[] = [];
  private readonly insert: Database.Statement<unknown[]>;
  private readonly writeCheckpointStatement: Database.Statement<[string, string, number]>;
  /** The `seq` the next new payment gets; set under the write lock at the start of each transaction. */
  private nextSeq = 0;
  /**
   * Commits several append requests in one transaction, so one fsync. Throws
   * when the transaction as a whole fails; then nothing of the group is stored.
   */
  readonly commit: (group: ReadonlyArray<readonly PaymentInput[]>) => RequestResult[];

  constructor(
    private readonly db: Database.Database,
    private readonly index: Database.Database,
    private readonly now: () => number,
  ) {
    this.separate = index !== db;
    this.bySeq = db.prepare("SELECT * FROM payments WHERE seq = ?");
    this.identitiesAfter = db
      .prepare<[number], [number, string, number]>("SELECT seq, signature, event_index FROM payments WHERE seq > ?")
      .raw();
    this.savedIdentities = index.prepare("SELECT seed, through_seq, entries, hashes, seqs FROM identity_snapshot WHERE id = 1");
    this.newestRowsThrough = db
      .prepare<[number], [number, string, number]>(
        `SELECT seq, signature, event_index FROM payments WHERE seq <= ? ORDER BY seq DESC LIMIT ${SAVED_IDENTITIES_CHECKED}`,
      )
      .raw();
    this.saveIdentities = index.prepare(
      "INSERT OR REPLACE INTO identity_snapshot (id, seed, through_seq, entries, hashes, seqs) VALUES (1, ?, ?, ?, ?, ?)",
    );
    this.addToLog = index.prepare("INSERT INTO payment_log (tracking_id, log_offset, seq) VALUES (?, ?, ?)");
    this.markIndexed = index.prepare("UPDATE index_state SET indexed_seq = max(indexed_seq, ?), clean = 0 WHERE id = 1");
    this.indexedSeq = index.prepare<[], number>("SELECT indexed_seq FROM index_state WHERE id = 1").pluck();
    this.topSeq = db.prepare<[], number>("SELECT coalesce(max(seq), 0) FROM payments").pluck();
    // Retention's deletes, prepared once: a prune by count runs them for each tracking ID.
    this.forgetOffset = index.prepare("DELETE FROM payment_log WHERE tracking_id = ? AND log_offset = ? AND seq = ?");
    this.deleteRow = db.prepare("DELETE FROM payments WHERE seq = ?");
    this.deleteRowReturning = db.prepare<[number], { tracking_id: string; log_offset: number }>(
      "DELETE FROM payments WHERE seq = ? RETURNING tracking_id, log_offset",
    );
    this.keepHead = db.prepare(
      `INSERT INTO tracking_heads (tracking_id, last_offset) VALUES (?, ?)
       ON CONFLICT (tracking_id) DO UPDATE SET last_offset = max(last_offset, excluded.last_offset)`,
    );
    this.oldestRows = db.prepare<[number, number], PrunedRow>(
      "SELECT seq, tracking_id, log_offset, signature, event_index FROM payments WHERE received_at < ? LIMIT ?",
    );
    this.headsAfter = index.prepare<[string, number], { tracking_id: string; last_offset: number }>(
      `SELECT tracking_id, max(log_offset) AS last_offset FROM payment_log
         WHERE tracking_id > ? GROUP BY tracking_id ORDER BY tracking_id LIMIT ?`,
    );
    this.olderRows = index.prepare<[string, number, number], PrunedRow>(
      `SELECT l.seq, l.tracking_id, l.log_offset, p.signature, p.event_index
         FROM payment_log l JOIN payments p ON p.seq = l.seq
        WHERE l.tracking_id = ? AND l.log_offset <= ? ORDER BY l.log_offset LIMIT ?`,
    );
    this.pruningSeqs = index.prepare<[], number>("SELECT seq FROM pruning").pluck();
    this.recordPruning = index.prepare("INSERT OR IGNORE INTO pruning (seq) VALUES (?)");
    this.forgetPruning = index.prepare("DELETE FROM pruning WHERE seq = ?");
    this.forgetPrunedAll = index.prepare("DELETE FROM pruning WHERE seq IN (SELECT value FROM json_each(?))");
    this.countPruneMark = index.prepare<[], { keep: number; through_seq: number }>("SELECT keep, through_seq FROM count_prune WHERE id = 1");
    this.recordCountPrune = index.prepare(
      `INSERT INTO count_prune (id, keep, through_seq) VALUES (1, ?, ?)
       ON CONFLICT (id) DO UPDATE SET keep = excluded.keep, through_seq = excluded.through_seq`,
    );
    this.rowsAfter = db.prepare<[number, number, number], { seq: number; tracking_id: string }>(
      "SELECT seq, tracking_id FROM payments WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
    );
    this.heads = new SqliteOffsetHeads(db, index);
    this.insert = db.prepare(
      `INSERT INTO payments (seq, tracking_id, log_offset, signature, event_index, amount, timestamp, status,
         payment_policy, gateway, payer, recipient, token_mint, record_id, slot, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.writeCheckpointStatement = db.prepare(
      `INSERT INTO checkpoints (source, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
    const appendRequest = (payments: readonly PaymentInput[], receivedAt: number, heads: HeadSource): CommittedRequest => {
      const committed: CommittedRequest = { receivedAt, offsets: [], duplicates: [] };
      for (const [index, payment] of payments.entries()) {
        const stored = this.appendOne(payment, receivedAt, heads);
        if (typeof stored === "number") committed.offsets.push(stored);
        else {
          committed.offsets.push(stored.offset);
          committed.duplicates.push([index, stored]);
        }
      }
      return committed;
    };
    // One transaction per group, one arrival time: its payments become durable
    // together. `run` stores one request; `failed` answers for one that threw.
    const commitGroup =
      (run: typeof appendRequest, heads: HeadSource, failed: (error: unknown) => RequestResult) =>
      (group: ReadonlyArray<readonly PaymentInput[]>) =>
        this.inTransaction("table-first", () => {
          const receivedAt = this.now();
          this.heads.begin();
          this.catchUpIdentities();
          return group.map((payments): RequestResult => {
            try {
              return run(payments, receivedAt, heads);
            } catch (error) {
              return failed(error);
            }
          });
        });
    // The common group: every request succeeds, so none needs a savepoint of
    // its own. A savepoint copies each page it is first to change into a
    // sub-journal (a temporary file past 64 KiB), which was more bytes and
    // write calls than the WAL itself (docs/decisions/payment-log.md).
    const commitAll = commitGroup(appendRequest, this.heads, (error) => {
      throw new RequestFailure(error);
    });
    // A request failed (a conflicting re-publish, a constraint): the group is
    // rolled back and run again with each request in a SAVEPOINT of both
    // files, so that the failing one rolls back alone and the rest of the
    // group commits. Heads come from the file then, which rolls back with the request.
    const fileHeads: HeadSource = { next: (trackingId) => this.heads.nextFromFile(trackingId), took: () => undefined };
    const inSavepoints = db.transaction(this.separate ? index.transaction(appendRequest) : appendRequest);
    const commitEach = commitGroup(inSavepoints, fileHeads, (error) => ({ error }));
    this.commit = (group) => {
      try {
        const results = commitAll(group);
        this.heads.committedTransaction();
        return results;
      } catch (error) {
        this.heads.forget();
        if (!(error instanceof RequestFailure)) throw error;
      }
      return commitEach(group);
    };
  }

  /**
   * Runs `body` in a write transaction of both files. IMMEDIATE takes the
   * table's write lock up front, so two processes sharing the file cannot
   * both read the same head and hand out one offset twice, and the index is
   * brought up to the table under it. Appends commit the table first: a crash
   * before the index commits leaves rows the next transaction indexes.
   * Retention commits the index first, listing the rows it deletes: a crash
   * in between leaves rows no index points at, which the next prune deletes.
   */
  private inTransaction<T>(order: CommitOrder, body: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    let result: T;
    try {
      if (this.separate) this.index.exec("BEGIN");
      // A write first: it takes the index file's lock while this transaction's view of it is fresh.
      this.markIndexed.run(0);
      const indexed = this.indexedSeq.get() ?? 0;
      const top = this.topSeq.get() ?? 0;
      this.tableTop = top;
      this.nextSeq = (top > indexed ? catchUpPaymentIndex(this.index, indexed) : Math.max(top, indexed)) + 1;
      result = body();
      this.markIndexed.run(this.nextSeq - 1);
      if (order === "index-first" && this.separate) this.index.exec("COMMIT");
      this.db.exec("COMMIT");
      // Every row up to here is now the table's, and the identity table holds each (it added its own as it inserted them).
      this.identitiesThrough = Math.max(this.identitiesThrough, this.nextSeq - 1);
    } catch (error) {
      if (this.separate && this.index.inTransaction) this.index.exec("ROLLBACK");
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      throw error;
    }
    if (this.separate && this.index.inTransaction) {
      try {
        this.index.exec("COMMIT");
      } catch {
        // The payments are durable and are answered; the next transaction indexes them.
        if (this.index.inTransaction) this.index.exec("ROLLBACK");
        this.heads.forget();
      }
    }
    return result;
  }

  /**
   * Inside an append's transaction, under the write lock: the first time,
   * starts from the table the last clean close saved (or from none), and
   * reads the identities of the rows past it; after that, those of rows
   * another process committed since (their `seq`s are past ours, as the
   * lock orders the commits).
   */
  private catchUpIdentities(): void {
    if (this.identities === undefined) {
      const saved = this.separate ? this.savedIdentities.get() : undefined;
      const restored = saved === undefined ? undefined : this.checkedRestore(saved);
      this.identities = restored ?? new IdentityTable();
      this.identitiesThrough = restored === undefined || saved === undefined ? 0 : saved.through_seq;
    }
    // A row the table does not hold must never get a `seq` it claims to cover (a saved table's too).
    this.nextSeq = Math.max(this.nextSeq, this.identitiesThrough + 1);
    if (this.tableTop <= this.identitiesThrough) return;
    for (const [seq, signature, eventIndex] of this.identitiesAfter.iterate(this.identitiesThrough)) {
      this.identities.add(signature, eventIndex, seq);
    }
    this.identitiesThrough = this.tableTop;
  }

  /**
   * A saved table, if it restores and holds the newest rows it claims to
   * cover: a save from a machine of the other byte order, or damaged in a
   * way its sizes do not show, fails this and every row is read instead.
   */
  private checkedRestore(saved: IdentitySnapshot & { through_seq: number }): IdentityTable | undefined {
    const restored = IdentityTable.restore(saved);
    if (restored === undefined) return undefined;
    for (const [seq, signature, eventIndex] of this.newestRowsThrough.iterate(saved.through_seq)) {
      if (!restored.candidates(signature, eventIndex).includes(seq)) return undefined;
    }
    return restored;
  }

  /**
   * The row holding this identity, if any. A candidate whose row is gone
   * or holds another identity is stale (deleted outside retention, or from a
   * transaction that rolled back) and is dropped.
   */
  private storedWith(identities: IdentityTable, input: PaymentInput): PaymentRow | undefined {
    for (const seq of identities.candidates(input.signature, input.eventIndex)) {
      const row = this.bySeq.get(seq);
      if (row !== undefined && row.signature === input.signature && row.event_index === input.eventIndex) return row;
      identities.remove(input.signature, input.eventIndex, seq);
    }
    return undefined;
  }

  /** Stores a payment and returns its new offset, or returns the payment already stored with its identity. */
  private appendOne(input: PaymentInput, receivedAt: number, heads: HeadSource): number | StoredPayment {
    const seq = this.nextSeq;
    const identities = this.identities;
    if (identities === undefined) throw new Error("an append transaction reads the identities before its first payment");
    const row = this.storedWith(identities, input);
    if (row !== undefined) {
      const stored = toPayment(row);
      assertSameContent(stored, input);
      return stored;
    }
    // A tracking ID paid twice in one group gets consecutive offsets: the
    // heads follow this transaction's inserts.
    const offset = heads.next(input.trackingId);
    this.insert.run(
      seq,
      input.trackingId,
      offset,
      input.signature,
      input.eventIndex,
      input.amount.toString(),
      input.timestamp,
      input.status,
      input.paymentPolicy ?? null,
      input.gateway ?? null,
      input.payer ?? null,
      input.recipient ?? null,
      input.tokenMint ?? null,
      input.recordId ?? null,
      input.slot ?? null,
      receivedAt,
    );
    this.addToLog.run(input.trackingId, offset, seq);
    identities.add(input.signature, input.eventIndex, seq);
    this.nextSeq = seq + 1;
    heads.took(input.trackingId, offset);
    return offset;
  }

  writeCheckpoint(source: string, value: string): void {
    this.writeCheckpointStatement.run(source, value, this.now());
  }

  /**
   * Takes the write lock and lets it go: proves the file is writable and not
   * held by another process, which a plain SELECT would not.
   */
  ping(): void {
    this.db.exec("BEGIN IMMEDIATE; ROLLBACK");
  }

  /**
   * One step of a prune (see prune-steps.ts): at most {@link PRUNE_CHUNK}
   * rows, in one transaction, after finishing what earlier steps or prunes
   * listed. Returns what it deleted and where the next step starts.
   */
  pruneStep(policy: RetentionPolicy, cursor: PruneCursor): PruneStepResult {
    // The remembered heads stay right: a prune by age writes down the head of each row it deletes, and one by count
    // keeps the newest rows. Forgetting them would cost a head read per tracking ID appended to between two steps.
    if (cursor.stage === "age" && policy.receivedBefore !== undefined) {
      const receivedBefore = policy.receivedBefore;
      return this.inPruneTransaction(() => {
        const rows = this.oldestRows.all(receivedBefore, PRUNE_CHUNK);
        const deleted = this.finishPruning() + this.deleteRows(rows, { keepHeads: true });
        return { deleted, next: rows.length === PRUNE_CHUNK ? cursor : countStage(policy) };
      });
    }
    const keep = policy.keepPerTrackingId;
    if (keep === undefined) return { deleted: 0, next: { stage: "done" } };
    if (cursor.stage === "count") {
      const top = this.topSeq.get() ?? 0;
      const mark = this.countPruneMark.get();
      // A mark past the table's end (a restored backup of the table) or for another bound proves nothing.
      const since = mark !== undefined && mark.keep === keep && mark.through_seq <= top ? mark.through_seq : undefined;
      return { deleted: 0, next: since === undefined ? { stage: "count-all", after: "", top } : { stage: "count-new", after: since, top } };
    }
    if (cursor.stage === "count-all") {
      const { top } = cursor;
      return this.inPruneTransaction(() => {
        let deleted = this.finishPruning();
        let budget = PRUNE_CHUNK;
        let after = cursor.after;
        const heads = this.headsAfter.all(cursor.after, PRUNE_SCAN_TRACKING_IDS);
        for (const head of heads) {
          const trimmed = this.keepNewest(head.tracking_id, head.last_offset, keep, budget);
          deleted += trimmed;
          budget -= trimmed;
          // The chunk is full: this tracking ID may have more, so the next step starts at it again.
          if (budget === 0) return { deleted, next: { stage: "count-all", after, top } };
          after = head.tracking_id;
        }
        if (heads.length === PRUNE_SCAN_TRACKING_IDS) return { deleted, next: { stage: "count-all", after, top } };
        this.recordCountPrune.run(keep, top);
        return { deleted, next: { stage: "done" } };
      });
    }
    if (cursor.stage === "count-new") {
      const { top } = cursor;
      return this.inPruneTransaction(() => {
        let deleted = this.finishPruning();
        let budget = PRUNE_CHUNK;
        const rows = this.rowsAfter.all(cursor.after, top, PRUNE_SCAN_NEW_ROWS);
        for (const trackingId of new Set(rows.map((row) => row.tracking_id))) {
          const trimmed = this.keepNewest(trackingId, this.heads.newestIndexed(trackingId), keep, budget);
          deleted += trimmed;
          budget -= trimmed;
          // The chunk is full: the same rows are looked at again by the next step, which finds what is left.
          if (budget === 0) return { deleted, next: cursor };
        }
        const last = rows.at(-1)?.seq;
        if (rows.length === PRUNE_SCAN_NEW_ROWS && last !== undefined) return { deleted, next: { stage: "count-new", after: last, top } };
        this.recordCountPrune.run(keep, top);
        return { deleted, next: { stage: "done" } };
      });
    }
    return { deleted: 0, next: { stage: "done" } };
  }

  /** Deletes a tracking ID's rows older than its newest `keep`, at most `budget`; returns how many. */
  private keepNewest(trackingId: string, lastOffset: number, keep: number, budget: number): number {
    if (lastOffset <= keep) return 0;
    // The newest rows stay, the head among them.
    return this.deleteRows(this.olderRows.all(trackingId, lastOffset - keep, budget), { keepHeads: false });
  }

  /** A prune step's transaction; once both files committed, the rows it listed are known gone from the table. */
  private inPruneTransaction(body: () => PruneStepResult): PruneStepResult {
    this.listing = [];
    this.pruned = [];
    // Held from here, so that the table saved at close has no entries for the rows this prune deletes.
    const result = this.inTransaction("index-first", () => {
      this.catchUpIdentities();
      return body();
    });
    this.committedPruning = this.listing;
    for (const row of this.pruned) this.identities?.remove(row.signature, row.event_index, row.seq);
    this.pruned = [];
    return result;
  }

  /**
   * Deletes rows from both files, inside {@link inTransaction}, listing them
   * in the index's `pruning` until the table's delete is seen committed;
   * returns how many.
   */
  private deleteRows(rows: readonly PrunedRow[], options: { keepHeads: boolean }): number {
    if (options.keepHeads) {
      // A tracking ID whose every row goes keeps its offsets: its head is written down (once per tracking ID), in
      // the table's transaction.
      const newest = new Map<string, number>();
      for (const row of rows) newest.set(row.tracking_id, Math.max(newest.get(row.tracking_id) ?? 0, row.log_offset));
      for (const [trackingId, offset] of newest) this.keepHead.run(trackingId, offset);
    }
    for (const row of rows) {
      this.pruned.push(row);
      this.forgetOffset.run(row.tracking_id, row.log_offset, row.seq);
      this.recordPruning.run(row.seq);
      this.listing.push(row.seq);
      this.deleteRow.run(row.seq);
    }
    return rows.length;
  }

  /**
   * Saves the identity table for the next start. Best effort: without it
   * the next start reads every row, as after a crash (a table past SQLite's
   * 1 GB blob limit, about 40 million payments, is not saved).
   */
  private saveIdentityTable(): void {
    if (this.identities === undefined) return;
    const { seed, entries, hashes, seqs } = this.identities.snapshot();
    try {
      this.saveIdentities.run(seed, this.identitiesThrough, entries, hashes, seqs);
    } catch {
      // Nothing is lost: the rows are the truth, and are read again.
    }
  }

  /**
   * Finishes earlier prunes, inside {@link inTransaction}: a listed row the
   * table still has lost its index entries, but a crash kept the table's
   * delete from committing, so it is deleted now; one the table no longer
   * has is done with. A pruned `seq` is never handed out again (the mark
   * only rises). Returns how many rows it deleted.
   */
  private finishPruning(): number {
    if (this.committedPruning.length > 0) this.forgetPrunedAll.run(JSON.stringify(this.committedPruning));
    this.committedPruning = [];
    let deleted = 0;
    for (const seq of this.pruningSeqs.all()) {
      const row = this.deleteRowReturning.get(seq);
      if (row === undefined) {
        this.forgetPruning.run(seq);
        continue;
      }
      // Its head went with the transaction that did not commit.
      this.keepHead.run(row.tracking_id, row.log_offset);
      deleted += 1;
    }
    return deleted;
  }

  /** Closes the writer's connections; the index file is marked clean when it reached the disk. */
  close(): void {
    if (this.separate) {
      this.saveIdentityTable();
      closePaymentIndex(this.index);
    }
    this.db.close();
  }
}
