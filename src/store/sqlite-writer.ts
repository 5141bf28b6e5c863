import type Database from "better-sqlite3";
import { storedPayment, type PaymentInput, type StoredPayment } from "../payment.js";
import { assertSameContent, type AppendOutcome, type RetentionPolicy } from "./payment-store.js";
import { toPayment, type PaymentRow } from "./sqlite-database.js";
import { SqliteOffsetHeads } from "./sqlite-offset-heads.js";

/** Rows deleted per statement, so a large prune never holds the write lock for long. */
const PRUNE_CHUNK = 5000;

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

/**
 * Everything that writes to a SQLite store, on one connection. It is
 * synchronous, like better-sqlite3: the store runs it on a thread of its own
 * (see sqlite-writer-thread.ts) so that statements and the commit's fsync do
 * not stall the event loop, or inline for an in-memory store.
 */
export class SqliteWriter {
  private readonly byIdentity: Database.Statement<[string, number], PaymentRow>;
  private readonly heads: SqliteOffsetHeads;
  private readonly insert: Database.Statement<unknown[]>;
  private readonly writeCheckpointStatement: Database.Statement<[string, string, number]>;
  /**
   * Commits several append requests in one transaction, so one fsync. Throws
   * when the transaction as a whole fails; then nothing of the group is stored.
   */
  readonly commit: (group: ReadonlyArray<readonly PaymentInput[]>) => RequestResult[];

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {
    this.byIdentity = db.prepare("SELECT * FROM payments WHERE signature = ? AND event_index = ?");
    this.heads = new SqliteOffsetHeads(db);
    this.insert = db.prepare(
      `INSERT INTO payments (tracking_id, log_offset, signature, event_index, amount, timestamp, status,
         payment_policy, gateway, payer, recipient, token_mint, record_id, slot, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (signature, event_index) DO NOTHING`,
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
    const commitGroup = (run: typeof appendRequest, heads: HeadSource, failed: (error: unknown) => RequestResult) =>
      db.transaction((group: ReadonlyArray<readonly PaymentInput[]>) => {
        const receivedAt = this.now();
        this.heads.begin();
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
    // rolled back and run again with each request in a SAVEPOINT, so that the
    // failing one rolls back alone and the rest of the group commits. Heads
    // come from the file then, which rolls back with the request.
    const fileHeads: HeadSource = { next: (trackingId) => this.heads.nextFromFile(trackingId), took: () => undefined };
    const commitEach = commitGroup(db.transaction(appendRequest), fileHeads, (error) => ({ error }));
    // IMMEDIATE takes the write lock up front, so two processes sharing the
    // file cannot both read the same head and hand out one offset twice.
    this.commit = (group) => {
      try {
        const results = commitAll.immediate(group);
        this.heads.committedTransaction();
        return results;
      } catch (error) {
        this.heads.forget();
        if (!(error instanceof RequestFailure)) throw error;
      }
      return commitEach.immediate(group);
    };
  }

  /** Stores a payment and returns its new offset, or returns the payment already stored with its identity. */
  private appendOne(input: PaymentInput, receivedAt: number, heads: HeadSource): number | StoredPayment {
    // A tracking ID paid twice in one group gets consecutive offsets: the
    // heads follow this transaction's inserts.
    const offset = heads.next(input.trackingId);
    // Insert first and look the identity up only when it already exists:
    // new payments, the common case, then cost no extra read.
    const { changes } = this.insert.run(
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
    if (changes === 0) {
      const stored = toPayment(this.byIdentity.get(input.signature, input.eventIndex) as PaymentRow);
      assertSameContent(stored, input);
      return stored;
    }
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

  prune(policy: RetentionPolicy): number {
    // Heads survive a prune (they are written down first), but it is rare enough to read them again after.
    this.heads.forget();
    let deleted = 0;
    if (policy.receivedBefore !== undefined) {
      // A tracking ID's head is its newest row; before rows go, their heads are
      // written down, so offsets continue even when every row of one went.
      this.db
        .prepare(
          `INSERT INTO tracking_heads (tracking_id, last_offset)
             SELECT tracking_id, max(log_offset) FROM payments WHERE received_at < ? GROUP BY tracking_id
           ON CONFLICT (tracking_id) DO UPDATE SET last_offset = max(last_offset, excluded.last_offset)`,
        )
        .run(policy.receivedBefore);
      const statement = this.db.prepare(
        `DELETE FROM payments WHERE (tracking_id, log_offset) IN
           (SELECT tracking_id, log_offset FROM payments WHERE received_at < ? LIMIT ${PRUNE_CHUNK})`,
      );
      for (let changes = -1; changes !== 0; ) {
        changes = statement.run(policy.receivedBefore).changes;
        deleted += changes;
      }
    }
    if (policy.keepPerTrackingId !== undefined) {
      const keep = policy.keepPerTrackingId;
      const heads = this.db
        .prepare("SELECT tracking_id, max(log_offset) AS last_offset FROM payments GROUP BY tracking_id HAVING max(log_offset) > ?")
        .all(keep) as Array<{ tracking_id: string; last_offset: number }>;
      const statement = this.db.prepare("DELETE FROM payments WHERE tracking_id = ? AND log_offset <= ?");
      // The newest `keep` rows stay, the head among them: no head row to write down here.
      // One transaction: one sync for all tracking IDs instead of one each.
      this.db.transaction(() => {
        for (const head of heads) deleted += statement.run(head.tracking_id, head.last_offset - keep).changes;
      })();
    }
    return deleted;
  }
}
