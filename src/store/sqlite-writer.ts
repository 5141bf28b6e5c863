import type Database from "better-sqlite3";
import { paymentId, type PaymentInput } from "../payment.js";
import { assertSameContent, type AppendOutcome, type RetentionPolicy } from "./payment-store.js";
import { toPayment, type PaymentRow } from "./sqlite-database.js";

/** Rows deleted per statement, so a large prune never holds the write lock for long. */
const PRUNE_CHUNK = 5000;

/** One request's share of a group commit: its outcomes, or why it alone was rolled back. */
export type RequestResult = { outcomes: AppendOutcome[] } | { error: unknown };

/**
 * Everything that writes to a SQLite store, on one connection. It is
 * synchronous, like better-sqlite3: the store runs it on a thread of its own
 * (see sqlite-writer-thread.ts) so that statements and the commit's fsync do
 * not stall the event loop, or inline for an in-memory store.
 */
export class SqliteWriter {
  private readonly byIdentity: Database.Statement<[string, number], PaymentRow>;
  private readonly head: Database.Statement<[string], { last_offset: number }>;
  private readonly upsertHead: Database.Statement<[string, number]>;
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
    this.head = db.prepare("SELECT last_offset FROM tracking_heads WHERE tracking_id = ?");
    this.upsertHead = db.prepare(
      `INSERT INTO tracking_heads (tracking_id, last_offset) VALUES (?, ?)
       ON CONFLICT (tracking_id) DO UPDATE SET last_offset = excluded.last_offset`,
    );
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
    // Called inside the group's transaction, this runs as a SAVEPOINT: a
    // request that fails rolls back alone and the rest of the group commits.
    const appendRequest = db.transaction((payments: readonly PaymentInput[], heads: Map<string, number>) => {
      // Heads this request moved; they join the group's only if it commits.
      const moved = new Map<string, number>();
      const outcomes = payments.map((payment) => this.appendOne(payment, heads, moved));
      for (const [trackingId, offset] of moved) heads.set(trackingId, offset);
      return outcomes;
    });
    const commitGroup = db.transaction((group: ReadonlyArray<readonly PaymentInput[]>) => {
      // A group writes each tracking ID's head once, not once per payment.
      const heads = new Map<string, number>();
      const results = group.map((payments): RequestResult => {
        try {
          return { outcomes: appendRequest(payments, heads) };
        } catch (error) {
          return { error };
        }
      });
      for (const [trackingId, offset] of heads) this.upsertHead.run(trackingId, offset);
      return results;
    });
    // IMMEDIATE takes the write lock up front, so two processes sharing the
    // file cannot both read the same head and hand out one offset twice.
    this.commit = (group) => commitGroup.immediate(group);
  }

  /**
   * @param heads offsets already assigned in this group by committed requests
   * @param moved offsets assigned by the current request
   */
  private appendOne(input: PaymentInput, heads: ReadonlyMap<string, number>, moved: Map<string, number>): AppendOutcome {
    const last = moved.get(input.trackingId) ?? heads.get(input.trackingId) ?? this.head.get(input.trackingId)?.last_offset ?? 0;
    const offset = last + 1;
    const receivedAt = this.now();
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
      return { payment: stored, duplicate: true };
    }
    moved.set(input.trackingId, offset);
    return {
      payment: { ...input, id: paymentId(input.signature, input.eventIndex), offset, receivedAt },
      duplicate: false,
    };
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
    let deleted = 0;
    if (policy.receivedBefore !== undefined) {
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
        .prepare("SELECT tracking_id, last_offset FROM tracking_heads WHERE last_offset > ?")
        .all(keep) as Array<{ tracking_id: string; last_offset: number }>;
      const statement = this.db.prepare("DELETE FROM payments WHERE tracking_id = ? AND log_offset <= ?");
      // One transaction: one sync for all tracking IDs instead of one each.
      this.db.transaction(() => {
        for (const head of heads) deleted += statement.run(head.tracking_id, head.last_offset - keep).changes;
      })();
    }
    return deleted;
  }
}
