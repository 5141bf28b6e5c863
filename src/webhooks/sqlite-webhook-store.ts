import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { besidePaymentsFile, runMigrations, switchToWal, toPayment, type PaymentRow } from "../store/sqlite-database.js";
import { attachPaymentIndex, paymentIndexPath } from "../store/sqlite-payment-index.js";
import { toPolicyEvent, type PolicyEventRow } from "../store/sqlite-policy-log.js";
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
import {
  toAttempt,
  toDelivery,
  toEndpoint,
  type AttemptRow,
  type DeliveryRow,
  type EndpointRow,
} from "./webhook-rows.js";

/** Each entry moves the webhook schema one version up; `PRAGMA user_version` records how far a file is. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE webhook_endpoints (
     id              TEXT PRIMARY KEY,
     owner           TEXT    NOT NULL,
     url             TEXT    NOT NULL,
     description     TEXT,
     filter          TEXT    NOT NULL,
     secrets         TEXT    NOT NULL,
     enabled         INTEGER NOT NULL,
     disabled_reason TEXT,
     disabled_at     INTEGER,
     -- The last payment log position turned into messages (the log's seq).
     cursor          TEXT    NOT NULL,
     created_at      INTEGER NOT NULL,
     updated_at      INTEGER NOT NULL,
     failing_since   INTEGER,
     last_success_at INTEGER,
     last_failure_at INTEGER,
     last_error      TEXT
   );
   CREATE INDEX webhook_endpoints_owner ON webhook_endpoints (owner);
   CREATE TABLE webhook_deliveries (
     endpoint_id      TEXT    NOT NULL,
     message_id       TEXT    NOT NULL,
     type             TEXT    NOT NULL,
     tracking_id      TEXT,
     log_offset       INTEGER,
     body             TEXT    NOT NULL,
     created_at       INTEGER NOT NULL,
     state            TEXT    NOT NULL,
     attempts         INTEGER NOT NULL,
     next_attempt_at  INTEGER NOT NULL,
     lease_owner      TEXT,
     lease_expires_at INTEGER,
     last_status      INTEGER,
     last_error       TEXT,
     finished_at      INTEGER,
     PRIMARY KEY (endpoint_id, message_id)
   );
   CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, state, next_attempt_at);
   CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (endpoint_id, tracking_id, state, log_offset);
   -- Totals for health and metrics (pending) and forgetting old finished messages read these, not the whole table.
   CREATE INDEX webhook_deliveries_state ON webhook_deliveries (state, created_at);
   CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE finished_at IS NOT NULL;
   CREATE TABLE webhook_attempts (
     id            INTEGER PRIMARY KEY,
     endpoint_id   TEXT    NOT NULL,
     message_id    TEXT    NOT NULL,
     attempt       INTEGER NOT NULL,
     attempted_at  INTEGER NOT NULL,
     status_code   INTEGER,
     latency_ms    INTEGER NOT NULL,
     error         TEXT,
     next_retry_at INTEGER,
     node          TEXT    NOT NULL
   );
   CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);
   CREATE INDEX webhook_attempts_time ON webhook_attempts (attempted_at);`,
  // Policy lifecycle events travel through the same outbox: a cursor into the
  // policy log (its seq; NULL until the endpoint's next round starts it at the
  // log's head) and their place among a tracking ID's payments.
  `ALTER TABLE webhook_endpoints ADD COLUMN policy_cursor TEXT;
   ALTER TABLE webhook_deliveries ADD COLUMN policy_offset INTEGER NOT NULL DEFAULT 0;
   DROP INDEX webhook_deliveries_queue;
   CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (endpoint_id, tracking_id, state, log_offset, policy_offset);`,
];

/** The webhook file beside a payments file: data/tributary.sqlite → data/tributary.webhooks.sqlite. */
export function webhookFilePath(paymentsPath: string): string {
  return besidePaymentsFile(paymentsPath, "webhooks");
}

export interface SqliteWebhookStoreOptions {
  /** The payments file (read only, attached as `log`); `:memory:` keeps webhook state in memory with an empty log. */
  paymentsPath: string;
  busyTimeoutMs?: number;
}

/**
 * Webhook state in a SQLite file of its own beside the payments file, so its
 * small writes on the event loop never wait for the payment writer's lock;
 * the payments file is attached read-only to read the log.
 *
 * Commits use synchronous=NORMAL: in WAL mode a process crash loses nothing,
 * and what a power cut could lose is rebuilt from the payment log (the cursor
 * moves back, messages are made again under the same ids, a delivered
 * message may be sent once more with the same `webhook-id`).
 */
export function openSqliteWebhookStore(options: SqliteWebhookStoreOptions): WebhookStore {
  const inMemory = options.paymentsPath === ":memory:";
  const path = inMemory ? ":memory:" : webhookFilePath(options.paymentsPath);
  if (!inMemory) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  // First, so that worker processes opening a fresh file together wait for each other.
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 2000}`);
  switchToWal(db);
  db.pragma("synchronous = NORMAL");
  runMigrations(db, MIGRATIONS, "webhook");
  return new SqliteWebhookStore(db, inMemory ? undefined : options.paymentsPath, options.busyTimeoutMs ?? 2000);
}

class SqliteWebhookStore implements WebhookStore {
  constructor(
    private readonly db: Database.Database,
    private readonly paymentsPath: string | undefined,
    private readonly busyTimeoutMs: number,
  ) {}

  private logConnection: Database.Database | undefined;
  /** Prepared once per SQL text: the dispatcher runs the same few statements for every delivery. */
  private readonly statements = new Map<string, Database.Statement>();
  private readonly logStatements = new Map<string, Database.Statement>();

  private statement(sql: string): Database.Statement {
    return cachedStatement(this.statements, this.db, sql);
  }

  private logStatement(sql: string): Database.Statement {
    return cachedStatement(this.logStatements, this.log as Database.Database, sql);
  }

  /**
   * Reads only; a connection of its own, since a write transaction on a
   * connection with the payments file attached would take that file's lock
   * too. Opened once the payment store has created the payments file and its
   * index file (attaching an index file that is not there would create an
   * empty one), with the index attached: it says where a tracking ID's payment sits in the log.
   */
  private get log(): Database.Database | undefined {
    const paymentsPath = this.paymentsPath;
    if (this.logConnection === undefined && paymentsPath !== undefined && existsSync(paymentIndexPath(paymentsPath))) {
      this.logConnection = new Database(paymentsPath, { fileMustExist: true });
      this.logConnection.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
      attachPaymentIndex(this.logConnection, paymentsPath);
    }
    return this.logConnection;
  }

  private logHead(): number {
    if (this.log === undefined) return 0;
    return (this.logStatement("SELECT coalesce(max(seq), 0) AS head FROM payments").get() as { head: number }).head;
  }

  private logPage(after: number, limit: number, receivedFrom?: number): Array<PaymentRow & { seq: number }> {
    if (this.log === undefined) return [];
    return this
      .logStatement("SELECT * FROM payments WHERE seq > ? AND received_at >= ? ORDER BY seq LIMIT ?")
      .all(after, receivedFrom ?? 0, limit) as Array<PaymentRow & { seq: number }>;
  }

  private policyHead(): number {
    if (this.log === undefined) return 0;
    return (this.logStatement("SELECT coalesce(max(seq), 0) AS head FROM policy_events").get() as { head: number }).head;
  }

  private policyPage(after: number, limit: number, receivedFrom?: number): Array<PolicyEventRow & { seq: number }> {
    if (this.log === undefined) return [];
    return this
      .logStatement("SELECT * FROM policy_events WHERE seq > ? AND received_at >= ? ORDER BY seq LIMIT ?")
      .all(after, receivedFrom ?? 0, limit) as Array<PolicyEventRow & { seq: number }>;
  }

  /**
   * Both pages read in one snapshot of the log, cut to what may enter the
   * outbox together (see log-merge.ts); writers of both logs share the file's
   * write lock, so each log's seq is its commit order.
   */
  private mergedPages(
    log: Database.Database,
    paymentCursor: number,
    policyCursor: number,
    limit: number,
  ): { payments: Array<PaymentRow & { seq: number }>; policies: Array<PolicyEventRow & { seq: number }>; full: boolean } {
    return log.transaction(() => {
      const payments = this.logPage(paymentCursor, limit);
      const policies = this.policyPage(policyCursor, limit);
      const full = payments.length === limit || policies.length === limit;
      if (policies.length === 0 && payments.length === 0) return { payments, policies, full };
      const paymentAt = this.logStatement("SELECT seq FROM payment_log WHERE tracking_id = ? AND log_offset = ?");
      const policiesBefore = this.logStatement("SELECT seq FROM policy_events WHERE tracking_id = ? AND after_offset < ? AND seq > ?");
      const cut = mergeablePrefixes({
        payments: payments.map((row) => ({
          position: row.seq,
          precededBy: (policiesBefore.all(row.tracking_id, row.log_offset, policyCursor) as Array<{ seq: number }>).map((r) => r.seq),
        })),
        policies: policies.map((row) => ({
          position: row.seq,
          follows: row.after_offset === 0 ? undefined : (paymentAt.get(row.tracking_id, row.after_offset) as { seq: number } | undefined)?.seq,
        })),
        paymentCursor,
        policyCursor,
        compare: (a, b) => a - b,
      });
      return { payments: payments.slice(0, cut.payments), policies: policies.slice(0, cut.policies), full };
    })();
  }

  async createEndpoint(endpoint: NewWebhookEndpoint): Promise<WebhookEndpoint> {
    this.db.transaction(() => {
      this
        .statement(
          `INSERT INTO webhook_endpoints (id, owner, url, description, filter, secrets, enabled, cursor, policy_cursor, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
        )
        .run(
          endpoint.id,
          endpoint.owner,
          endpoint.url,
          endpoint.description ?? null,
          JSON.stringify(endpoint.filter),
          JSON.stringify(endpoint.secrets),
          String(this.logHead()),
          String(this.policyHead()),
          endpoint.createdAt,
          endpoint.createdAt,
        );
    }).immediate();
    return (await this.getEndpoint(endpoint.id)) as WebhookEndpoint;
  }

  async getEndpoint(id: string): Promise<WebhookEndpoint | undefined> {
    const row = this.statement("SELECT * FROM webhook_endpoints WHERE id = ?").get(id) as EndpointRow | undefined;
    return row === undefined ? undefined : toEndpoint(row);
  }

  async listEndpoints(owner: string): Promise<WebhookEndpoint[]> {
    const rows = this.statement("SELECT * FROM webhook_endpoints WHERE owner = ? ORDER BY created_at, id").all(owner) as EndpointRow[];
    return rows.map(toEndpoint);
  }

  async countEndpoints(owner: string): Promise<number> {
    return (this.statement("SELECT count(*) AS n FROM webhook_endpoints WHERE owner = ?").get(owner) as { n: number }).n;
  }

  async listEnabledEndpoints(): Promise<WebhookEndpoint[]> {
    const rows = this.statement("SELECT * FROM webhook_endpoints WHERE enabled = 1 ORDER BY id").all() as EndpointRow[];
    return rows.map(toEndpoint);
  }

  async updateEndpoint(id: string, patch: WebhookEndpointPatch, now: number): Promise<WebhookEndpoint | undefined> {
    const changes = this.db.transaction(() => {
      const row = this.statement("SELECT * FROM webhook_endpoints WHERE id = ?").get(id) as EndpointRow | undefined;
      if (row === undefined) return 0;
      const enabling = patch.enabled === true && row.enabled === 0;
      const disabling = patch.enabled === false && row.enabled === 1;
      return this
        .statement(
          `UPDATE webhook_endpoints SET url = ?, description = ?, filter = ?, secrets = ?, enabled = ?,
             disabled_reason = ?, disabled_at = ?, failing_since = ?, updated_at = ? WHERE id = ?`,
        )
        .run(
          patch.url ?? row.url,
          patch.description ?? row.description,
          patch.filter === undefined ? row.filter : JSON.stringify(patch.filter),
          patch.secrets === undefined ? row.secrets : JSON.stringify(patch.secrets),
          patch.enabled === undefined ? row.enabled : patch.enabled ? 1 : 0,
          enabling ? null : disabling ? "disabled by its owner" : row.disabled_reason,
          enabling ? null : disabling ? now : row.disabled_at,
          enabling ? null : row.failing_since,
          now,
          id,
        ).changes;
    }).immediate();
    return changes === 0 ? undefined : this.getEndpoint(id);
  }

  async deleteEndpoint(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.statement("DELETE FROM webhook_deliveries WHERE endpoint_id = ?").run(id);
      this.statement("DELETE FROM webhook_attempts WHERE endpoint_id = ?").run(id);
      return this.statement("DELETE FROM webhook_endpoints WHERE id = ?").run(id).changes > 0;
    }).immediate();
  }

  async materialise(endpointId: string, build: MessageBuilder, limit: number): Promise<number> {
    const row = this
      .statement("SELECT cursor, policy_cursor FROM webhook_endpoints WHERE id = ? AND enabled = 1")
      .get(endpointId) as { cursor: string; policy_cursor: string | null } | undefined;
    const log = this.log;
    if (row === undefined || log === undefined) return 0;
    if (row.policy_cursor === null) {
      // An endpoint made before policy events were delivered starts at the policy log's head.
      this
        .statement("UPDATE webhook_endpoints SET policy_cursor = ? WHERE id = ? AND policy_cursor IS NULL")
        .run(String(this.policyHead()), endpointId);
      return this.materialise(endpointId, build, limit);
    }
    const { payments, policies, full } = this.mergedPages(log, Number(row.cursor), Number(row.policy_cursor), limit);
    const lastPayment = payments.at(-1);
    const lastPolicy = policies.at(-1);
    if (lastPayment === undefined && lastPolicy === undefined) {
      // seq is a rowid: once retention has deleted every payment, new ones
      // count again from 1, below the cursor. Start over from 0; message ids
      // come from the payment, so what was made before is not made twice.
      if (Number(row.cursor) > this.logHead()) {
        this.statement("UPDATE webhook_endpoints SET cursor = '0' WHERE id = ? AND cursor = ?").run(endpointId, row.cursor);
      }
      return 0;
    }
    const messages = [
      ...payments.map((paymentRow) => build(toPayment(paymentRow))),
      ...policies.map((policyRow) => build(toPolicyEvent(policyRow))),
    ].filter((m) => m !== undefined);
    return this.db.transaction(() => {
      // Moves only from the cursors read above: a concurrent materialiser (another process) made these already.
      const moved = this
        .statement("UPDATE webhook_endpoints SET cursor = ?, policy_cursor = ? WHERE id = ? AND cursor = ? AND policy_cursor = ?")
        .run(
          lastPayment === undefined ? row.cursor : String(lastPayment.seq),
          lastPolicy === undefined ? row.policy_cursor : String(lastPolicy.seq),
          endpointId,
          row.cursor,
          row.policy_cursor,
        ).changes;
      if (moved === 0) return 0;
      this.insertMessages(messages, false, 0);
      const passed = payments.length + policies.length;
      return passed > 0 && full ? Math.max(passed, limit) : passed;
    }).immediate();
  }

  /** @param reset make an existing message pending again (a replay) instead of leaving it as it is */
  private insertMessages(messages: readonly WebhookMessage[], reset: boolean, now: number): void {
    const insert = this.statement(
      `INSERT INTO webhook_deliveries (endpoint_id, message_id, type, tracking_id, log_offset, policy_offset, body, created_at,
         state, attempts, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)
       ON CONFLICT (endpoint_id, message_id) DO ${
         reset
           ? `UPDATE SET state = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at, finished_at = NULL
              WHERE webhook_deliveries.state <> 'pending'`
           : "NOTHING"
       }`,
    );
    for (const m of messages) {
      insert.run(
        m.endpointId,
        m.messageId,
        m.type,
        m.trackingId,
        m.offset,
        m.policyOffset ?? 0,
        m.body,
        m.createdAt,
        reset ? now : m.createdAt,
      );
    }
  }

  async enqueue(messages: readonly WebhookMessage[], now: number): Promise<void> {
    this.db.transaction(() => this.insertMessages(messages, true, now)).immediate();
  }

  async replayFrom(endpointId: string, from: number, build: MessageBuilder, limit: number, now: number): Promise<number> {
    return this.db.transaction(() => {
      const row = this.statement("SELECT cursor, policy_cursor FROM webhook_endpoints WHERE id = ?").get(endpointId) as
        | { cursor: string; policy_cursor: string | null }
        | undefined;
      if (row === undefined) return 0;
      const cursor = Number(row.cursor);
      const policyCursor = Number(row.policy_cursor ?? 0);
      const messages: WebhookMessage[] = [];
      for (let after = 0; messages.length < limit; ) {
        const page = this.logPage(after, 500, from).filter((paymentRow) => paymentRow.seq <= cursor);
        for (const paymentRow of page) {
          const message = build(toPayment(paymentRow));
          if (message !== undefined && messages.length < limit) messages.push(message);
        }
        const last = page.at(-1);
        if (last === undefined || page.length < 500) break;
        after = last.seq;
      }
      for (let after = 0; messages.length < limit; ) {
        const page = this.policyPage(after, 500, from).filter((policyRow) => policyRow.seq <= policyCursor);
        for (const policyRow of page) {
          const message = build(toPolicyEvent(policyRow));
          if (message !== undefined && messages.length < limit) messages.push(message);
        }
        const last = page.at(-1);
        if (last === undefined || page.length < 500) break;
        after = last.seq;
      }
      this.insertMessages(messages, true, now);
      return messages.length;
    }).immediate();
  }

  async claim(endpointId: string, node: string, now: number, leaseMs: number, limit: number): Promise<WebhookDelivery[]> {
    const rows = this.db.transaction(
      () =>
        this
          .statement(
            `UPDATE webhook_deliveries SET lease_owner = ?, lease_expires_at = ?
             WHERE rowid IN (
               SELECT d.rowid FROM webhook_deliveries d
               WHERE d.endpoint_id = ? AND d.state = 'pending' AND d.next_attempt_at <= ?
                 AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= ?)
                 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                   WHERE p.endpoint_id = d.endpoint_id AND p.tracking_id = d.tracking_id
                     AND p.state = 'pending'
                     AND (p.log_offset < d.log_offset OR (p.log_offset = d.log_offset AND p.policy_offset < d.policy_offset)))
               ORDER BY d.next_attempt_at LIMIT ?)
             RETURNING *`,
          )
          .all(node, now + leaseMs, endpointId, now, now, limit) as DeliveryRow[],
    ).immediate();
    return rows.map(toDelivery);
  }

  async recordAttempt(attempt: WebhookAttempt, outcome: AttemptOutcome): Promise<boolean> {
    return this.db.transaction(() => {
      this
        .statement(
          `INSERT INTO webhook_attempts (endpoint_id, message_id, attempt, attempted_at, status_code, latency_ms, error, next_retry_at, node)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          attempt.endpointId,
          attempt.messageId,
          attempt.attempt,
          attempt.attemptedAt,
          attempt.statusCode ?? null,
          Math.round(attempt.latencyMs),
          attempt.error ?? null,
          attempt.nextRetryAt ?? null,
          attempt.node,
        );
      const state = outcome.kind === "delivered" ? "delivered" : outcome.kind === "given-up" ? "failed" : "pending";
      const nextAttemptAt = "nextAttemptAt" in outcome ? outcome.nextAttemptAt : attempt.attemptedAt;
      const held =
        this
          .statement(
            `UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, next_attempt_at = ?, lease_owner = NULL,
               lease_expires_at = NULL, last_status = ?, last_error = ?, finished_at = ?
             WHERE endpoint_id = ? AND message_id = ? AND lease_owner = ? AND state = 'pending'`,
          )
          .run(
            state,
            nextAttemptAt,
            attempt.statusCode ?? null,
            attempt.error ?? null,
            state === "pending" ? null : attempt.attemptedAt,
            attempt.endpointId,
            attempt.messageId,
            attempt.node,
          ).changes > 0;
      if (!held) return false;
      if (outcome.kind === "delivered") {
        this
          .statement("UPDATE webhook_endpoints SET last_success_at = ?, failing_since = NULL WHERE id = ?")
          .run(attempt.attemptedAt, attempt.endpointId);
      } else {
        this
          .statement(
            `UPDATE webhook_endpoints SET last_failure_at = ?, last_error = ?, failing_since = coalesce(failing_since, ?)
             WHERE id = ?`,
          )
          .run(attempt.attemptedAt, attempt.error ?? `HTTP ${attempt.statusCode}`, attempt.attemptedAt, attempt.endpointId);
      }
      if (outcome.kind === "disable-endpoint") {
        this
          .statement(
            "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?, disabled_at = ?, updated_at = ? WHERE id = ? AND enabled = 1",
          )
          .run(outcome.reason, attempt.attemptedAt, attempt.attemptedAt, attempt.endpointId);
      }
      return true;
    }).immediate();
  }

  async backlog(endpointId: string): Promise<EndpointBacklog> {
    const row = this
      .statement("SELECT count(*) AS pending, min(created_at) AS oldest FROM webhook_deliveries WHERE endpoint_id = ? AND state = 'pending'")
      .get(endpointId) as { pending: number; oldest: number | null };
    return row.oldest === null ? { pending: row.pending } : { pending: row.pending, oldestPendingAt: row.oldest };
  }

  async listAttempts(endpointId: string, limit: number): Promise<WebhookAttempt[]> {
    const rows = this
      .statement("SELECT * FROM webhook_attempts WHERE endpoint_id = ? ORDER BY id DESC LIMIT ?")
      .all(endpointId, limit) as AttemptRow[];
    return rows.map(toAttempt);
  }

  async getDelivery(endpointId: string, messageId: string): Promise<WebhookDelivery | undefined> {
    const row = this
      .statement("SELECT * FROM webhook_deliveries WHERE endpoint_id = ? AND message_id = ?")
      .get(endpointId, messageId) as DeliveryRow | undefined;
    return row === undefined ? undefined : toDelivery(row);
  }

  async totals(): Promise<WebhookTotals> {
    const endpoints = this
      .statement("SELECT count(*) AS total, coalesce(sum(enabled = 0), 0) AS disabled FROM webhook_endpoints")
      .get() as { total: number; disabled: number };
    const pending = this
      .statement("SELECT count(*) AS pending, min(created_at) AS oldest FROM webhook_deliveries WHERE state = 'pending'")
      .get() as { pending: number; oldest: number | null };
    return {
      endpoints: endpoints.total,
      disabled: endpoints.disabled,
      pending: pending.pending,
      ...(pending.oldest === null ? {} : { oldestPendingAt: pending.oldest }),
    };
  }

  async pruneFinished(before: number): Promise<number> {
    return this.db.transaction(
      () =>
        this.statement("DELETE FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < ?").run(before).changes +
        this.statement("DELETE FROM webhook_attempts WHERE attempted_at < ?").run(before).changes,
    ).immediate();
  }

  async close(): Promise<void> {
    if (this.logConnection?.open) this.logConnection.close();
    if (this.db.open) this.db.close();
  }
}

function cachedStatement(cache: Map<string, Database.Statement>, db: Database.Database, sql: string): Database.Statement {
  let statement = cache.get(sql);
  if (statement === undefined) {
    statement = db.prepare(sql);
    cache.set(sql, statement);
  }
  return statement;
}
