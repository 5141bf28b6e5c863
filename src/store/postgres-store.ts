import pg from "pg";
import { paymentId, storedPayment, type PaymentInput, type PaymentStatus, type StoredPayment } from "../payment.js";
import {
  assertSameContent,
  type AppendOutcome,
  type ListQuery,
  type PaymentStore,
  type RetentionPolicy,
  type TrackingHeads,
} from "./payment-store.js";
import type { PolicyEventInput, PolicyMapping, StoredPolicyEvent } from "../policy-event.js";
import type { PolicyAppendOutcome, PolicyListQuery } from "./policy-event-log.js";
import { POLICY_COMMIT_ORDER_MIGRATION, POLICY_MIGRATION, PostgresPolicyLog } from "./postgres-policy-log.js";
import { runPostgresMigrations } from "./postgres-migrations.js";
import { inTransaction } from "./postgres-transaction.js";

/**
 * Each entry moves the schema one version up; `schema_migrations` records
 * which ones a database has. Integers that can pass 2^31 are BIGINT, and the
 * u64 amount is NUMERIC(20,0), which holds every u64 exactly.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE payments (
     tracking_id    TEXT          NOT NULL,
     log_offset     BIGINT        NOT NULL,
     signature      TEXT          NOT NULL,
     event_index    BIGINT        NOT NULL,
     amount         NUMERIC(20,0) NOT NULL CHECK (amount >= 0),
     timestamp      BIGINT        NOT NULL,
     status         TEXT          NOT NULL,
     payment_policy TEXT,
     gateway        TEXT,
     payer          TEXT,
     recipient      TEXT,
     token_mint     TEXT,
     record_id      BIGINT,
     slot           BIGINT,
     received_at    BIGINT        NOT NULL,
     PRIMARY KEY (tracking_id, log_offset)
   );
   CREATE UNIQUE INDEX payments_identity ON payments (signature, event_index);
   -- Retention by age walks this index instead of the whole table.
   CREATE INDEX payments_received_at ON payments (received_at);
   -- The head is kept apart from the rows so that offsets never restart, even
   -- if retention deletes every row of a tracking ID. Its row lock is what
   -- serialises writers of one tracking ID across nodes.
   CREATE TABLE tracking_heads (
     tracking_id TEXT PRIMARY KEY,
     last_offset BIGINT NOT NULL
   );
   CREATE TABLE checkpoints (
     source     TEXT PRIMARY KEY,
     value      TEXT NOT NULL,
     updated_at BIGINT NOT NULL
   );`,
  // A position in commit order for readers of the whole log (the webhook
  // outbox): seq alone is handed out before commit, so a reader could pass a
  // row that commits later; the inserting transaction's id lets a reader stop
  // below every transaction still running (see docs/decisions/webhooks.md).
  `ALTER TABLE payments ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;
   ALTER TABLE payments ADD COLUMN commit_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
   CREATE INDEX payments_commit_order ON payments (commit_xid, seq);`,
  POLICY_MIGRATION,
  POLICY_COMMIT_ORDER_MIGRATION,
];

/**
 * Key of the transaction-scoped advisory lock held while migrating, so nodes
 * that start together migrate one after the other instead of racing on
 * CREATE TABLE. Any constant works as long as it never changes.
 */
const MIGRATION_LOCK_KEY = 7_245_001_011;

/** Rows deleted per statement, so a large prune never holds locks on many rows for long. */
const PRUNE_CHUNK = 5000;

/**
 * SQLSTATEs after which the same transaction, run again, can succeed:
 * serialization failure and deadlock. A unique violation on the identity is
 * retried too (see isRetryable): another node committed the same payment
 * meanwhile, and the rerun finds it as a duplicate.
 */
const RETRYABLE_CODES = new Set(["40001", "40P01"]);
const MAX_ATTEMPTS = 8;

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (or `postgresql://`). */
  url: string;
  /**
   * Connections kept by this store's pool.
   * @default 10
   */
  maxConnections?: number;
  /**
   * How long (ms) opening a connection may take before the operation fails,
   * so an unreachable server makes publishes fail fast instead of hang.
   * @default 5000
   */
  connectionTimeoutMs?: number;
  /** Clock for `receivedAt`; injectable for tests. */
  now?: () => number;
  /**
   * Told about errors of idle connections (the server went away). The pool
   * drops such a connection and opens a new one when needed.
   */
  onIdleError?: (error: Error) => void;
}

export interface PaymentRow {
  tracking_id: string;
  // BIGINT and NUMERIC arrive as strings (pg's default, kept so no value is
  // ever rounded through a JS number); they are converted field by field.
  log_offset: string;
  signature: string;
  event_index: string;
  amount: string;
  timestamp: string;
  status: string;
  payment_policy: string | null;
  gateway: string | null;
  payer: string | null;
  recipient: string | null;
  token_mint: string | null;
  record_id: string | null;
  slot: string | null;
  received_at: string;
}

/**
 * Opens a pool and brings the schema up to date. Several nodes may share one
 * database: identity, offsets and migrations are all safe under concurrency.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PaymentStore> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
    keepAlive: true,
  });
  // Without a listener an idle connection cut by the server (restart,
  // failover) would crash the process; the pool already discards it.
  pool.on("error", (error) => options.onIdleError?.(error));
  try {
    await migrate(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return new PostgresStore(pool, options.now ?? Date.now);
}

function migrate(pool: pg.Pool): Promise<void> {
  return runPostgresMigrations(pool, { migrations: MIGRATIONS, table: "schema_migrations", lockKey: MIGRATION_LOCK_KEY, schema: "database" });
}


function sqlState(error: unknown): string | undefined {
  return error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : undefined;
}

function isRetryableForPolicies(error: unknown): boolean {
  const code = sqlState(error);
  return code !== undefined && (RETRYABLE_CODES.has(code) || code === "23505");
}

function isRetryable(error: unknown): boolean {
  const code = sqlState(error);
  if (code === undefined) return false;
  if (RETRYABLE_CODES.has(code)) return true;
  return code === "23505" && (error as pg.DatabaseError).constraint === "payments_identity";
}

const identityKey = (signature: string, eventIndex: number) => `${eventIndex}:${signature}`;

class PostgresStore implements PaymentStore {
  private closed = false;
  private readonly policies: PostgresPolicyLog;

  constructor(
    private readonly pool: pg.Pool,
    private readonly now: () => number,
  ) {
    // The policy log retries on any unique violation: two nodes may insert the same policy event at once.
    this.policies = new PostgresPolicyLog(pool, (work) => this.retrying(work, isRetryableForPolicies), now);
  }

  /** One transaction, run again while `retryable` says its failure was a collision with another writer. */
  private async retrying<T>(work: (client: pg.PoolClient) => Promise<T>, retryable: (error: unknown) => boolean): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await inTransaction(this.pool, work);
      } catch (error) {
        if (!retryable(error) || attempt >= MAX_ATTEMPTS) throw error;
        // Jitter, so transactions that collided once do not collide again in lockstep.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
  }

  appendPolicyEvents(events: readonly PolicyEventInput[]): Promise<PolicyAppendOutcome[]> {
    return this.policies.appendPolicyEvents(events);
  }

  listPolicyEvents(query: PolicyListQuery): Promise<StoredPolicyEvent[]> {
    return this.policies.listPolicyEvents(query);
  }

  latestPolicyOffset(trackingId: string): Promise<number> {
    return this.policies.latestPolicyOffset(trackingId);
  }

  rememberPolicies(mappings: readonly PolicyMapping[]): Promise<void> {
    return this.policies.rememberPolicies(mappings);
  }

  lookupPolicies(paymentPolicies: readonly string[]): Promise<Map<string, string>> {
    return this.policies.lookupPolicies(paymentPolicies);
  }

  completablePolicies(paymentPolicies: readonly string[]): Promise<Set<string>> {
    return this.policies.completablePolicies(paymentPolicies);
  }

  append(payments: readonly PaymentInput[]): Promise<AppendOutcome[]> {
    return this.retrying((client) => this.appendIn(client, payments), isRetryable);
  }

  private async appendIn(client: pg.PoolClient, payments: readonly PaymentInput[]): Promise<AppendOutcome[]> {
    // The first occurrence of each identity in the batch; later ones are its duplicates.
    const firstOf = new Map<string, PaymentInput>();
    for (const payment of payments) {
      const key = identityKey(payment.signature, payment.eventIndex);
      const first = firstOf.get(key);
      if (first) assertSameContent(first, payment);
      else firstOf.set(key, payment);
    }
    const unique = [...firstOf.values()];

    const { rows: existingRows } = await client.query<PaymentRow>(
      `SELECT p.* FROM payments p
       JOIN unnest($1::text[], $2::bigint[]) AS wanted(signature, event_index)
         ON p.signature = wanted.signature AND p.event_index = wanted.event_index`,
      [unique.map((p) => p.signature), unique.map((p) => p.eventIndex)],
    );
    const stored = new Map<string, StoredPayment>();
    for (const row of existingRows) {
      const payment = toPayment(row);
      stored.set(identityKey(payment.signature, payment.eventIndex), payment);
    }
    const fresh: PaymentInput[] = [];
    for (const payment of unique) {
      const existing = stored.get(identityKey(payment.signature, payment.eventIndex));
      if (existing) assertSameContent(existing, payment);
      else fresh.push(payment);
    }

    const inserted = new Set<string>();
    if (fresh.length > 0) {
      const counts = new Map<string, number>();
      for (const payment of fresh) counts.set(payment.trackingId, (counts.get(payment.trackingId) ?? 0) + 1);
      // One statement claims a block of offsets per tracking ID. The row lock
      // on each head serialises concurrent writers of that tracking ID until
      // commit, so offsets stay gap-free and unique across nodes; taking the
      // locks in one fixed order (ORDER BY) keeps two batches that share
      // tracking IDs from deadlocking on each other.
      const { rows: heads } = await client.query<{ tracking_id: string; last_offset: string }>(
        `INSERT INTO tracking_heads AS head (tracking_id, last_offset)
         SELECT tracking_id, claimed FROM unnest($1::text[], $2::bigint[]) AS batch(tracking_id, claimed)
         ORDER BY tracking_id
         ON CONFLICT (tracking_id) DO UPDATE SET last_offset = head.last_offset + excluded.last_offset
         RETURNING tracking_id, last_offset`,
        [[...counts.keys()], [...counts.values()]],
      );
      const nextOffset = new Map<string, number>();
      for (const head of heads) {
        nextOffset.set(head.tracking_id, Number(head.last_offset) - (counts.get(head.tracking_id) ?? 0) + 1);
      }
      const receivedAt = this.now();
      const rows = fresh.map((payment) => {
        const offset = nextOffset.get(payment.trackingId);
        if (offset === undefined) throw new Error(`no head was claimed for tracking ID ${payment.trackingId}`);
        nextOffset.set(payment.trackingId, offset + 1);
        const row = storedPayment(payment, offset, receivedAt);
        stored.set(identityKey(payment.signature, payment.eventIndex), row);
        inserted.add(identityKey(payment.signature, payment.eventIndex));
        return row;
      });
      const column = <T>(pick: (p: StoredPayment) => T) => rows.map(pick);
      await client.query(
        `INSERT INTO payments (tracking_id, log_offset, signature, event_index, amount, timestamp, status,
           payment_policy, gateway, payer, recipient, token_mint, record_id, slot, received_at)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::numeric[], $6::bigint[],
           $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[], $14::bigint[],
           $15::bigint[])`,
        [
          column((p) => p.trackingId),
          column((p) => p.offset),
          column((p) => p.signature),
          column((p) => p.eventIndex),
          column((p) => p.amount.toString()),
          column((p) => p.timestamp),
          column((p) => p.status),
          column((p) => p.paymentPolicy ?? null),
          column((p) => p.gateway ?? null),
          column((p) => p.payer ?? null),
          column((p) => p.recipient ?? null),
          column((p) => p.tokenMint ?? null),
          column((p) => p.recordId ?? null),
          column((p) => p.slot ?? null),
          column((p) => p.receivedAt),
        ],
      );
    }

    // Only the first occurrence of a payment stored by this very batch is new.
    return payments.map((payment) => {
      const key = identityKey(payment.signature, payment.eventIndex);
      const storedPayment = stored.get(key) as StoredPayment;
      const duplicate = !inserted.delete(key);
      return { payment: storedPayment, duplicate };
    });
  }

  async list(query: ListQuery): Promise<StoredPayment[]> {
    const { rows } = await this.pool.query<PaymentRow>(
      "SELECT * FROM payments WHERE tracking_id = $1 AND log_offset > $2 ORDER BY log_offset LIMIT $3",
      [query.trackingId, query.after, query.limit],
    );
    return rows.map(toPayment);
  }

  async latestOffset(trackingId: string): Promise<number> {
    const { rows } = await this.pool.query<{ last_offset: string }>(
      "SELECT last_offset FROM tracking_heads WHERE tracking_id = $1",
      [trackingId],
    );
    return rows[0] ? Number(rows[0].last_offset) : 0;
  }

  async heads(trackingIds: readonly string[]): Promise<TrackingHeads[]> {
    if (trackingIds.length === 0) return [];
    // One statement, so one snapshot and one round trip for every tracking ID asked.
    const { rows } = await this.pool.query<{ latest_offset: string; latest_policy_offset: string }>(
      `SELECT coalesce(t.last_offset, 0) AS latest_offset, coalesce(p.last_offset, 0) AS latest_policy_offset
         FROM unnest($1::text[]) WITH ORDINALITY AS ids (tracking_id, n)
         LEFT JOIN tracking_heads t ON t.tracking_id = ids.tracking_id
         LEFT JOIN policy_heads p ON p.tracking_id = ids.tracking_id
        ORDER BY ids.n`,
      [trackingIds],
    );
    return rows.map((row) => ({ latestOffset: Number(row.latest_offset), latestPolicyOffset: Number(row.latest_policy_offset) }));
  }

  async readCheckpoint(source: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ value: string }>("SELECT value FROM checkpoints WHERE source = $1", [
      source,
    ]);
    return rows[0]?.value;
  }

  async writeCheckpoint(source: string, value: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO checkpoints (source, value, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      [source, value, this.now()],
    );
  }

  async prune(policy: RetentionPolicy): Promise<number> {
    let deleted = 0;
    if (policy.receivedBefore !== undefined) {
      // Each round deletes at least one row or ends the loop, so it is bounded by the table's size.
      for (let count = -1; count !== 0; ) {
        const result = await this.pool.query(
          `DELETE FROM payments WHERE (tracking_id, log_offset) IN
             (SELECT tracking_id, log_offset FROM payments WHERE received_at < $1 LIMIT ${PRUNE_CHUNK})`,
          [policy.receivedBefore],
        );
        count = result.rowCount ?? 0;
        deleted += count;
      }
    }
    if (policy.keepPerTrackingId !== undefined) {
      const result = await this.pool.query(
        `DELETE FROM payments p USING tracking_heads h
         WHERE p.tracking_id = h.tracking_id AND h.last_offset > $1 AND p.log_offset <= h.last_offset - $1`,
        [policy.keepPerTrackingId],
      );
      deleted += result.rowCount ?? 0;
    }
    return deleted;
  }

  async ping(): Promise<void> {
    // A standby or a read-only database answers SELECT but cannot take a
    // publish, so ask whether this session could write.
    const { rows } = await this.pool.query<{ read_only: string }>(
      "SELECT current_setting('transaction_read_only') AS read_only",
    );
    if (rows[0]?.read_only !== "off") throw new Error("the PostgreSQL server only accepts reads");
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

const optionalNumber = (value: string | null) => (value === null ? undefined : Number(value));

export function toPayment(row: PaymentRow): StoredPayment {
  return {
    id: paymentId(row.signature, Number(row.event_index)),
    trackingId: row.tracking_id,
    offset: Number(row.log_offset),
    signature: row.signature,
    eventIndex: Number(row.event_index),
    amount: BigInt(row.amount),
    timestamp: Number(row.timestamp),
    status: row.status as PaymentStatus,
    paymentPolicy: row.payment_policy ?? undefined,
    gateway: row.gateway ?? undefined,
    payer: row.payer ?? undefined,
    recipient: row.recipient ?? undefined,
    tokenMint: row.token_mint ?? undefined,
    recordId: optionalNumber(row.record_id),
    slot: optionalNumber(row.slot),
    receivedAt: Number(row.received_at),
  };
}
