import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { paymentId, type PaymentInput, type PaymentStatus, type StoredPayment } from "../payment.js";
import {
  assertSameContent,
  StoreFatalError,
  type AppendOutcome,
  type ListQuery,
  type PaymentStore,
  type RetentionPolicy,
} from "./payment-store.js";

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
];

/** Rows deleted per statement, so a large prune never holds the write lock for long. */
const PRUNE_CHUNK = 5000;

interface PaymentRow {
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

export interface SqliteStoreOptions {
  /** File path, or `:memory:` for a throwaway store. */
  path: string;
  /** How long (ms) a write waits for a lock held by another connection before failing. */
  busyTimeoutMs?: number;
  /** Clock for `receivedAt`; injectable for tests. */
  now?: () => number;
}

export function openSqliteStore(options: SqliteStoreOptions): PaymentStore {
  if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  db.pragma("journal_mode = WAL");
  // FULL syncs the WAL on every commit: a payment acknowledged to its source
  // survives a power cut, not only a process crash.
  db.pragma("synchronous = FULL");
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 2000}`);
  migrate(db);
  return new SqliteStore(db, options.now ?? Date.now);
}

function migrate(db: Database.Database): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this build knows (${MIGRATIONS.length})`);
  }
  db.transaction(() => {
    for (let version = current; version < MIGRATIONS.length; version++) {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    }
  }).immediate();
}

interface PendingAppend {
  payments: readonly PaymentInput[];
  resolve: (outcomes: AppendOutcome[]) => void;
  reject: (error: unknown) => void;
}

/** One request's failure inside a group commit, kept apart from the outcomes. */
class Failed {
  constructor(readonly error: unknown) {}
}

class SqliteStore implements PaymentStore {
  private readonly byIdentity: Database.Statement<[string, number], PaymentRow>;
  private readonly head: Database.Statement<[string], { last_offset: number }>;
  private readonly upsertHead: Database.Statement<[string, number]>;
  private readonly insert: Database.Statement<unknown[]>;
  private readonly page: Database.Statement<[string, number, number], PaymentRow>;
  private readonly readCheckpointStatement: Database.Statement<[string], { value: string }>;
  private readonly writeCheckpointStatement: Database.Statement<[string, string, number]>;
  private readonly commitGroup: (group: readonly PendingAppend[]) => Array<AppendOutcome[] | Failed>;
  private pending: PendingAppend[] = [];

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
    this.page = db.prepare(
      "SELECT * FROM payments WHERE tracking_id = ? AND log_offset > ? ORDER BY log_offset LIMIT ?",
    );
    this.readCheckpointStatement = db.prepare("SELECT value FROM checkpoints WHERE source = ?");
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
    const commitGroup = db.transaction((group: readonly PendingAppend[]) => {
      // A group writes each tracking ID's head once, not once per payment.
      const heads = new Map<string, number>();
      const results = group.map((request) => {
        try {
          return appendRequest(request.payments, heads);
        } catch (error) {
          return new Failed(error);
        }
      });
      for (const [trackingId, offset] of heads) this.upsertHead.run(trackingId, offset);
      return results;
    });
    // IMMEDIATE takes the write lock up front, so two processes sharing the
    // file cannot both read the same head and hand out one offset twice.
    this.commitGroup = (group) => commitGroup.immediate(group);
  }

  /**
   * Group commit: every append requested in one turn of the event loop
   * shares one transaction and so one fsync. While a commit blocks the
   * thread, new requests pile up and go together into the next one, so the
   * busier the service, the more each sync carries.
   */
  append(payments: readonly PaymentInput[]): Promise<AppendOutcome[]> {
    return new Promise((resolve, reject) => {
      if (this.pending.push({ payments, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const group = this.pending;
    this.pending = [];
    let results: Array<AppendOutcome[] | Failed>;
    try {
      results = this.commitGroup(group);
    } catch (error) {
      const failure = classify(error);
      for (const request of group) request.reject(failure);
      return;
    }
    group.forEach((request, index) => {
      const result = results[index];
      if (result instanceof Failed) request.reject(classify(result.error));
      else if (result !== undefined) request.resolve(result);
    });
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

  async list(query: ListQuery): Promise<StoredPayment[]> {
    return this.page.all(query.trackingId, query.after, query.limit).map(toPayment);
  }

  async latestOffset(trackingId: string): Promise<number> {
    return this.head.get(trackingId)?.last_offset ?? 0;
  }

  async readCheckpoint(source: string): Promise<string | undefined> {
    return this.readCheckpointStatement.get(source)?.value;
  }

  async writeCheckpoint(source: string, value: string): Promise<void> {
    this.writeCheckpointStatement.run(source, value, this.now());
  }

  async ping(): Promise<void> {
    try {
      // Taking the write lock proves the file is writable and not held by
      // another process; a plain SELECT would pass on a store that cannot commit.
      this.db.exec("BEGIN IMMEDIATE; ROLLBACK");
    } catch (error) {
      throw classify(error);
    }
  }

  async prune(policy: RetentionPolicy): Promise<number> {
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

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

// Result codes after which the file cannot be trusted or reached again without
// an operator: retrying would only fail the same way.
const FATAL_CODES = /^SQLITE_(CORRUPT|NOTADB|IOERR|CANTOPEN|READONLY|FULL)/;

function classify(error: unknown): unknown {
  if (error instanceof Database.SqliteError && FATAL_CODES.test(error.code)) return new StoreFatalError(error);
  return error;
}

function toPayment(row: PaymentRow): StoredPayment {
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
