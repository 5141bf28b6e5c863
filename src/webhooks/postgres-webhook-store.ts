import pg from "pg";
import { toPolicyEvent, type PolicyEventRow } from "../store/postgres-policy-log.js";
import { toPayment, type PaymentRow } from "../store/postgres-store.js";
import { runPostgresMigrations } from "../store/postgres-migrations.js";
import { inTransaction } from "../store/postgres-transaction.js";
import { mergeablePrefixes } from "./log-merge.js";
import type {
  AttemptOutcome,
  EndpointBacklog,
  MessageBuilder,
  NewWebhookEndpoint,
  WebhookAttempt,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointPatch,
  WebhookMessage,
  WebhookStore,
  WebhookTotals,
} from "./webhook-store.js";
import { toAttempt, toDelivery, toEndpoint, type AttemptRow, type DeliveryRow, type EndpointRow } from "./webhook-rows.js";

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE webhook_endpoints (
     id              TEXT PRIMARY KEY,
     owner           TEXT    NOT NULL,
     url             TEXT    NOT NULL,
     description     TEXT,
     filter          TEXT    NOT NULL,
     secrets         TEXT    NOT NULL,
     enabled         BOOLEAN NOT NULL,
     disabled_reason TEXT,
     disabled_at     BIGINT,
     -- The last log position turned into messages: '<commit_xid>:<seq>'.
     cursor          TEXT    NOT NULL,
     created_at      BIGINT  NOT NULL,
     updated_at      BIGINT  NOT NULL,
     failing_since   BIGINT,
     last_success_at BIGINT,
     last_failure_at BIGINT,
     last_error      TEXT
   );
   CREATE INDEX webhook_endpoints_owner ON webhook_endpoints (owner);
   CREATE TABLE webhook_deliveries (
     endpoint_id      TEXT    NOT NULL,
     message_id       TEXT    NOT NULL,
     type             TEXT    NOT NULL,
     tracking_id      TEXT,
     log_offset       BIGINT,
     body             TEXT    NOT NULL,
     created_at       BIGINT  NOT NULL,
     state            TEXT    NOT NULL,
     attempts         INTEGER NOT NULL,
     next_attempt_at  BIGINT  NOT NULL,
     lease_owner      TEXT,
     lease_expires_at BIGINT,
     last_status      INTEGER,
     last_error       TEXT,
     finished_at      BIGINT,
     PRIMARY KEY (endpoint_id, message_id)
   );
   CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, state, next_attempt_at);
   CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (endpoint_id, tracking_id, state, log_offset);
   -- Totals for health and metrics (pending) and forgetting old finished messages read these, not the whole table.
   CREATE INDEX webhook_deliveries_state ON webhook_deliveries (state, created_at);
   CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE finished_at IS NOT NULL;
   CREATE TABLE webhook_attempts (
     id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     endpoint_id   TEXT    NOT NULL,
     message_id    TEXT    NOT NULL,
     attempt       INTEGER NOT NULL,
     attempted_at  BIGINT  NOT NULL,
     status_code   INTEGER,
     latency_ms    INTEGER NOT NULL,
     error         TEXT,
     next_retry_at BIGINT,
     node          TEXT    NOT NULL
   );
   CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);
   CREATE INDEX webhook_attempts_time ON webhook_attempts (attempted_at);`,
  // Policy lifecycle events travel through the same outbox: a cursor into the
  // policy log ('<commit_xid>:<seq>'; NULL until the endpoint's next round
  // starts it at the log's head) and their place among a tracking ID's payments.
  `ALTER TABLE webhook_endpoints ADD COLUMN policy_cursor TEXT;
   ALTER TABLE webhook_deliveries ADD COLUMN policy_offset BIGINT NOT NULL DEFAULT 0;
   DROP INDEX webhook_deliveries_queue;
   CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (endpoint_id, tracking_id, state, log_offset, policy_offset);`,
];

/** Any constant, never changed: serialises nodes migrating the webhook tables together. */
const MIGRATION_LOCK_KEY = 7_245_001_019;

/**
 * The log's commit order is (commit_xid, seq). Rows are read only below the
 * oldest transaction still running (the snapshot's xmin), so a row committed
 * later can never land behind a cursor that already passed its position.
 */
const LOG_PAGE = `SELECT p.* FROM payments p
  WHERE (commit_xid, seq) > ($1::xid8, $2::bigint) AND (commit_xid, seq) <= ($3::xid8, $4::bigint)
    AND commit_xid < pg_snapshot_xmin(pg_current_snapshot()) AND received_at >= $5
  ORDER BY commit_xid, seq LIMIT $6`;
const POLICY_PAGE = LOG_PAGE.replace("FROM payments p", "FROM policy_events p");
const END_OF_LOG = ["18446744073709551615", "9223372036854775807"] as const;
/** A cursor at the oldest running transaction: what commits from now on is read, nothing before. */
const HEAD_CURSOR = "((pg_snapshot_xmin(pg_current_snapshot())::text::numeric - 1)::text || ':9223372036854775807')";

type LogRow = PaymentRow & { commit_xid: string; seq: string };
type PolicyLogRow = PolicyEventRow & { commit_xid: string; seq: string };
type Position = [string, string];

function comparePositions(a: Position, b: Position): number {
  const xid = BigInt(a[0]) - BigInt(b[0]);
  if (xid !== 0n) return xid < 0n ? -1 : 1;
  const seq = BigInt(a[1]) - BigInt(b[1]);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

function parseCursor(cursor: string): [string, string] {
  const [xid = "0", seq = "0"] = cursor.split(":");
  return [xid, seq];
}

export async function openPostgresWebhookStore(options: { url: string; maxConnections?: number }): Promise<WebhookStore> {
  const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 5, connectionTimeoutMillis: 5000 });
  pool.on("error", () => undefined);
  try {
    await runPostgresMigrations(pool, {
      migrations: MIGRATIONS,
      table: "webhook_schema_migrations",
      lockKey: MIGRATION_LOCK_KEY,
      schema: "webhook",
    });
  } catch (error) {
    await pool.end();
    throw error;
  }
  return new PostgresWebhookStore(pool);
}

class PostgresWebhookStore implements WebhookStore {
  private closed = false;

  constructor(private readonly pool: pg.Pool) {}

  async createEndpoint(endpoint: NewWebhookEndpoint): Promise<WebhookEndpoint> {
    // Starts at the oldest running transaction: a payment committing right now is delivered, not skipped.
    await this.pool.query(
      `INSERT INTO webhook_endpoints (id, owner, url, description, filter, secrets, enabled, cursor, policy_cursor, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, true, ${HEAD_CURSOR}, ${HEAD_CURSOR}, $7, $7)`,
      [
        endpoint.id,
        endpoint.owner,
        endpoint.url,
        endpoint.description ?? null,
        JSON.stringify(endpoint.filter),
        JSON.stringify(endpoint.secrets),
        endpoint.createdAt,
      ],
    );
    return (await this.getEndpoint(endpoint.id)) as WebhookEndpoint;
  }

  async getEndpoint(id: string): Promise<WebhookEndpoint | undefined> {
    const { rows } = await this.pool.query<EndpointRow>("SELECT * FROM webhook_endpoints WHERE id = $1", [id]);
    return rows[0] === undefined ? undefined : toEndpoint(rows[0]);
  }

  async listEndpoints(owner: string): Promise<WebhookEndpoint[]> {
    const { rows } = await this.pool.query<EndpointRow>("SELECT * FROM webhook_endpoints WHERE owner = $1 ORDER BY created_at, id", [owner]);
    return rows.map(toEndpoint);
  }

  async countEndpoints(owner: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>("SELECT count(*) AS n FROM webhook_endpoints WHERE owner = $1", [owner]);
    return Number(rows[0]?.n ?? 0);
  }

  async listEnabledEndpoints(): Promise<WebhookEndpoint[]> {
    const { rows } = await this.pool.query<EndpointRow>("SELECT * FROM webhook_endpoints WHERE enabled ORDER BY id");
    return rows.map(toEndpoint);
  }

  async updateEndpoint(id: string, patch: WebhookEndpointPatch, now: number): Promise<WebhookEndpoint | undefined> {
    const { rowCount } = await this.pool.query(
      `UPDATE webhook_endpoints SET
         url = coalesce($2, url),
         description = coalesce($3, description),
         filter = coalesce($4, filter),
         secrets = coalesce($5, secrets),
         disabled_reason = CASE WHEN $6::boolean IS TRUE THEN NULL
                                WHEN $6::boolean IS FALSE AND enabled THEN 'disabled by its owner' ELSE disabled_reason END,
         disabled_at = CASE WHEN $6::boolean IS TRUE THEN NULL
                            WHEN $6::boolean IS FALSE AND enabled THEN $7 ELSE disabled_at END,
         failing_since = CASE WHEN $6::boolean IS TRUE AND NOT enabled THEN NULL ELSE failing_since END,
         enabled = coalesce($6::boolean, enabled),
         updated_at = $7
       WHERE id = $1`,
      [
        id,
        patch.url ?? null,
        patch.description ?? null,
        patch.filter === undefined ? null : JSON.stringify(patch.filter),
        patch.secrets === undefined ? null : JSON.stringify(patch.secrets),
        patch.enabled ?? null,
        now,
      ],
    );
    return rowCount === 0 ? undefined : this.getEndpoint(id);
  }

  async deleteEndpoint(id: string): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      await client.query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1", [id]);
      await client.query("DELETE FROM webhook_attempts WHERE endpoint_id = $1", [id]);
      const { rowCount } = await client.query("DELETE FROM webhook_endpoints WHERE id = $1", [id]);
      return (rowCount ?? 0) > 0;
    });
  }

  async materialise(endpointId: string, build: MessageBuilder, limit: number): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      // The row lock makes nodes take turns on one endpoint; a node finding it taken skips this round.
      const { rows } = await client.query<{ cursor: string; policy_cursor: string | null }>(
        "SELECT cursor, policy_cursor FROM webhook_endpoints WHERE id = $1 AND enabled FOR UPDATE SKIP LOCKED",
        [endpointId],
      );
      const row = rows[0];
      if (row === undefined) return 0;
      if (row.policy_cursor === null) {
        // An endpoint made before policy events were delivered starts at the policy log's head.
        const { rows: started } = await client.query<{ policy_cursor: string }>(
          `UPDATE webhook_endpoints SET policy_cursor = ${HEAD_CURSOR} WHERE id = $1 RETURNING policy_cursor`,
          [endpointId],
        );
        row.policy_cursor = started[0]?.policy_cursor ?? "0:0";
      }
      const paymentCursor = parseCursor(row.cursor);
      const policyCursor = parseCursor(row.policy_cursor);
      const { rows: paymentPage } = await client.query<LogRow>(LOG_PAGE, [...paymentCursor, ...END_OF_LOG, 0, limit]);
      const { rows: policyPage } = await client.query<PolicyLogRow>(POLICY_PAGE, [...policyCursor, ...END_OF_LOG, 0, limit]);
      if (paymentPage.length === 0 && policyPage.length === 0) return 0;
      const cut = mergeablePrefixes<Position>({
        payments: await this.policiesBefore(client, paymentPage, policyCursor),
        policies: await this.paymentsFollowed(client, policyPage),
        paymentCursor,
        policyCursor,
        compare: comparePositions,
      });
      const payments = paymentPage.slice(0, cut.payments);
      const policies = policyPage.slice(0, cut.policies);
      const messages = [
        ...payments.map((paymentRow) => build(toPayment(paymentRow))),
        ...policies.map((policyRow) => build(toPolicyEvent(policyRow))),
      ].filter((m) => m !== undefined);
      await this.insertMessages(client, messages, false, 0);
      const lastPayment = payments.at(-1);
      const lastPolicy = policies.at(-1);
      await client.query("UPDATE webhook_endpoints SET cursor = $2, policy_cursor = $3 WHERE id = $1", [
        endpointId,
        lastPayment === undefined ? row.cursor : `${lastPayment.commit_xid}:${lastPayment.seq}`,
        lastPolicy === undefined ? row.policy_cursor : `${lastPolicy.commit_xid}:${lastPolicy.seq}`,
      ]);
      const passed = payments.length + policies.length;
      const full = paymentPage.length === limit || policyPage.length === limit;
      return passed > 0 && full ? Math.max(passed, limit) : passed;
    });
  }

  /** For each payment, the positions of its tracking ID's policy events past the policy cursor that precede it. */
  private async policiesBefore(client: pg.PoolClient, page: readonly LogRow[], policyCursor: Position) {
    const precededBy = page.map(() => [] as Position[]);
    if (page.length > 0) {
      const { rows } = await client.query<{ i: string; commit_xid: string; seq: string }>(
        `SELECT u.i, e.commit_xid::text AS commit_xid, e.seq FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS u(tracking_id, log_offset, i)
         JOIN policy_events e ON e.tracking_id = u.tracking_id AND e.after_offset < u.log_offset
           AND (e.commit_xid, e.seq) > ($3::xid8, $4::bigint)`,
        [page.map((r) => r.tracking_id), page.map((r) => r.log_offset), ...policyCursor],
      );
      for (const row of rows) precededBy[Number(row.i) - 1]?.push([row.commit_xid, row.seq]);
    }
    return page.map((row, i) => ({ position: [row.commit_xid, row.seq] as Position, precededBy: precededBy[i] ?? [] }));
  }

  /** For each policy event, the position of the payment it follows (undefined when it follows none, or that one is gone). */
  private async paymentsFollowed(client: pg.PoolClient, page: readonly PolicyLogRow[]) {
    const follows = new Map<number, Position>();
    if (page.length > 0) {
      const { rows } = await client.query<{ i: string; commit_xid: string; seq: string }>(
        `SELECT u.i, p.commit_xid::text AS commit_xid, p.seq FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS u(tracking_id, log_offset, i)
         JOIN payments p ON p.tracking_id = u.tracking_id AND p.log_offset = u.log_offset`,
        [page.map((r) => r.tracking_id), page.map((r) => r.after_offset)],
      );
      for (const row of rows) follows.set(Number(row.i) - 1, [row.commit_xid, row.seq]);
    }
    return page.map((row, i) => ({ position: [row.commit_xid, row.seq] as Position, follows: follows.get(i) }));
  }

  private async insertMessages(client: pg.PoolClient, messages: readonly WebhookMessage[], reset: boolean, now: number): Promise<void> {
    if (messages.length === 0) return;
    const column = <T>(pick: (m: WebhookMessage) => T) => messages.map(pick);
    await client.query(
      `INSERT INTO webhook_deliveries (endpoint_id, message_id, type, tracking_id, log_offset, policy_offset, body, created_at,
         state, attempts, next_attempt_at)
       SELECT endpoint_id, message_id, type, tracking_id, log_offset, policy_offset, body, created_at, 'pending', 0, next_attempt_at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::bigint[], $9::bigint[])
         AS m(endpoint_id, message_id, type, tracking_id, log_offset, policy_offset, body, created_at, next_attempt_at)
       ON CONFLICT (endpoint_id, message_id) DO ${
         reset
           ? `UPDATE SET state = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at, finished_at = NULL
              WHERE webhook_deliveries.state <> 'pending'`
           : "NOTHING"
       }`,
      [
        column((m) => m.endpointId),
        column((m) => m.messageId),
        column((m) => m.type),
        column((m) => m.trackingId),
        column((m) => m.offset),
        column((m) => m.policyOffset ?? 0),
        column((m) => m.body),
        column((m) => m.createdAt),
        column((m) => (reset ? now : m.createdAt)),
      ],
    );
  }

  async enqueue(messages: readonly WebhookMessage[], now: number): Promise<void> {
    await inTransaction(this.pool, (client) => this.insertMessages(client, messages, true, now));
  }

  async replayFrom(endpointId: string, from: number, build: MessageBuilder, limit: number, now: number): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ cursor: string; policy_cursor: string | null }>(
        "SELECT cursor, policy_cursor FROM webhook_endpoints WHERE id = $1 FOR UPDATE",
        [endpointId],
      );
      const cursor = rows[0]?.cursor;
      if (cursor === undefined) return 0;
      const [cursorXid, cursorSeq] = parseCursor(cursor);
      const [policyXid, policySeq] = parseCursor(rows[0]?.policy_cursor ?? "0:0");
      const messages: WebhookMessage[] = [];
      let after: [string, string] = ["0", "0"];
      while (messages.length < limit) {
        const { rows: page } = await client.query<LogRow>(LOG_PAGE, [after[0], after[1], cursorXid, cursorSeq, from, 500]);
        for (const row of page) {
          const message = build(toPayment(row));
          if (message !== undefined && messages.length < limit) messages.push(message);
        }
        const last = page.at(-1);
        if (last === undefined || page.length < 500) break;
        after = [last.commit_xid, last.seq];
      }
      for (let after: Position = ["0", "0"]; messages.length < limit; ) {
        const { rows: page } = await client.query<PolicyLogRow>(POLICY_PAGE, [...after, policyXid, policySeq, from, 500]);
        for (const row of page) {
          const message = build(toPolicyEvent(row));
          if (message !== undefined && messages.length < limit) messages.push(message);
        }
        const last = page.at(-1);
        if (last === undefined || page.length < 500) break;
        after = [last.commit_xid, last.seq];
      }
      await this.insertMessages(client, messages, true, now);
      return messages.length;
    });
  }

  async claim(endpointId: string, node: string, now: number, leaseMs: number, limit: number): Promise<WebhookDelivery[]> {
    const { rows } = await this.pool.query<DeliveryRow>(
      `UPDATE webhook_deliveries SET lease_owner = $2, lease_expires_at = $3
       WHERE (endpoint_id, message_id) IN (
         SELECT d.endpoint_id, d.message_id FROM webhook_deliveries d
         WHERE d.endpoint_id = $1 AND d.state = 'pending' AND d.next_attempt_at <= $4
           AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= $4)
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
             WHERE p.endpoint_id = d.endpoint_id AND p.tracking_id = d.tracking_id
               AND p.state = 'pending'
               AND (p.log_offset < d.log_offset OR (p.log_offset = d.log_offset AND p.policy_offset < d.policy_offset)))
         ORDER BY d.next_attempt_at LIMIT $5
         FOR UPDATE OF d SKIP LOCKED)
       AND state = 'pending' AND (lease_expires_at IS NULL OR lease_expires_at <= $4)
       RETURNING *`,
      [endpointId, node, now + leaseMs, now, limit],
    );
    return rows.map(toDelivery);
  }

  async recordAttempt(attempt: WebhookAttempt, outcome: AttemptOutcome): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      await client.query(
        `INSERT INTO webhook_attempts (endpoint_id, message_id, attempt, attempted_at, status_code, latency_ms, error, next_retry_at, node)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          attempt.endpointId,
          attempt.messageId,
          attempt.attempt,
          attempt.attemptedAt,
          attempt.statusCode ?? null,
          Math.round(attempt.latencyMs),
          attempt.error ?? null,
          attempt.nextRetryAt ?? null,
          attempt.node,
        ],
      );
      const state = outcome.kind === "delivered" ? "delivered" : outcome.kind === "given-up" ? "failed" : "pending";
      const nextAttemptAt = "nextAttemptAt" in outcome ? outcome.nextAttemptAt : attempt.attemptedAt;
      const { rowCount } = await client.query(
        `UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, next_attempt_at = $2, lease_owner = NULL,
           lease_expires_at = NULL, last_status = $3, last_error = $4, finished_at = $5
         WHERE endpoint_id = $6 AND message_id = $7 AND lease_owner = $8 AND state = 'pending'`,
        [
          state,
          nextAttemptAt,
          attempt.statusCode ?? null,
          attempt.error ?? null,
          state === "pending" ? null : attempt.attemptedAt,
          attempt.endpointId,
          attempt.messageId,
          attempt.node,
        ],
      );
      if ((rowCount ?? 0) === 0) return false;
      if (outcome.kind === "delivered") {
        await client.query("UPDATE webhook_endpoints SET last_success_at = $2, failing_since = NULL WHERE id = $1", [
          attempt.endpointId,
          attempt.attemptedAt,
        ]);
      } else {
        await client.query(
          `UPDATE webhook_endpoints SET last_failure_at = $2, last_error = $3, failing_since = coalesce(failing_since, $2)
           WHERE id = $1`,
          [attempt.endpointId, attempt.attemptedAt, attempt.error ?? `HTTP ${attempt.statusCode}`],
        );
      }
      if (outcome.kind === "disable-endpoint") {
        await client.query(
          "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, disabled_at = $3, updated_at = $3 WHERE id = $1 AND enabled",
          [attempt.endpointId, outcome.reason, attempt.attemptedAt],
        );
      }
      return true;
    });
  }

  async backlog(endpointId: string): Promise<EndpointBacklog> {
    const { rows } = await this.pool.query<{ pending: string; oldest: string | null }>(
      "SELECT count(*) AS pending, min(created_at) AS oldest FROM webhook_deliveries WHERE endpoint_id = $1 AND state = 'pending'",
      [endpointId],
    );
    const row = rows[0];
    if (row === undefined || row.oldest === null) return { pending: Number(row?.pending ?? 0) };
    return { pending: Number(row.pending), oldestPendingAt: Number(row.oldest) };
  }

  async listAttempts(endpointId: string, limit: number): Promise<WebhookAttempt[]> {
    const { rows } = await this.pool.query<AttemptRow>(
      "SELECT * FROM webhook_attempts WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2",
      [endpointId, limit],
    );
    return rows.map(toAttempt);
  }

  async getDelivery(endpointId: string, messageId: string): Promise<WebhookDelivery | undefined> {
    const { rows } = await this.pool.query<DeliveryRow>(
      "SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 AND message_id = $2",
      [endpointId, messageId],
    );
    return rows[0] === undefined ? undefined : toDelivery(rows[0]);
  }

  async totals(): Promise<WebhookTotals> {
    const { rows } = await this.pool.query<{ total: string; disabled: string; pending: string; oldest: string | null }>(
      `SELECT (SELECT count(*) FROM webhook_endpoints) AS total,
              (SELECT count(*) FROM webhook_endpoints WHERE NOT enabled) AS disabled,
              (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending') AS pending,
              (SELECT min(created_at) FROM webhook_deliveries WHERE state = 'pending') AS oldest`,
    );
    const row = rows[0];
    return {
      endpoints: Number(row?.total ?? 0),
      disabled: Number(row?.disabled ?? 0),
      pending: Number(row?.pending ?? 0),
      ...(row?.oldest === null || row?.oldest === undefined ? {} : { oldestPendingAt: Number(row.oldest) }),
    };
  }

  async pruneFinished(before: number): Promise<number> {
    const deliveries = await this.pool.query("DELETE FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < $1", [before]);
    const attempts = await this.pool.query("DELETE FROM webhook_attempts WHERE attempted_at < $1", [before]);
    return (deliveries.rowCount ?? 0) + (attempts.rowCount ?? 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
