import type pg from "pg";
import { policyEventId, type PolicyEventInput, type PolicyMapping, type PolicyStatus, type StoredPolicyEvent } from "../policy-event.js";
import {
  assertSamePolicyContent,
  type PolicyAppendOutcome,
  type PolicyEventLog,
  type PolicyListQuery,
} from "./policy-event-log.js";

export interface PolicyEventRow {
  tracking_id: string;
  // BIGINT arrives as a string; converted field by field.
  policy_offset: string;
  after_offset: string;
  signature: string;
  event_index: string;
  payment_policy: string;
  status: string;
  previous_status: string | null;
  timestamp: string;
  gateway: string | null;
  recipient: string | null;
  slot: string | null;
  received_at: string;
}

export function toPolicyEvent(row: PolicyEventRow): StoredPolicyEvent {
  return {
    id: policyEventId(row.signature, Number(row.event_index)),
    trackingId: row.tracking_id,
    policyOffset: Number(row.policy_offset),
    afterOffset: Number(row.after_offset),
    signature: row.signature,
    eventIndex: Number(row.event_index),
    paymentPolicy: row.payment_policy,
    status: row.status as PolicyStatus,
    previousStatus: (row.previous_status ?? undefined) as PolicyStatus | undefined,
    timestamp: Number(row.timestamp),
    gateway: row.gateway ?? undefined,
    recipient: row.recipient ?? undefined,
    slot: row.slot === null ? undefined : Number(row.slot),
    receivedAt: Number(row.received_at),
  };
}

/** Runs `work` in one transaction on a pooled connection. */
export type InTransaction = <T>(work: (client: pg.PoolClient) => Promise<T>) => Promise<T>;

/** The schema the PostgreSQL store adds for policy events (one migration step). */
export const POLICY_MIGRATION = `CREATE TABLE policy_events (
     tracking_id     TEXT   NOT NULL,
     policy_offset   BIGINT NOT NULL,
     after_offset    BIGINT NOT NULL,
     signature       TEXT   NOT NULL,
     event_index     BIGINT NOT NULL,
     payment_policy  TEXT   NOT NULL,
     status          TEXT   NOT NULL,
     previous_status TEXT,
     timestamp       BIGINT NOT NULL,
     gateway         TEXT,
     recipient       TEXT,
     slot            BIGINT,
     received_at     BIGINT NOT NULL,
     PRIMARY KEY (tracking_id, policy_offset)
   );
   CREATE UNIQUE INDEX policy_events_identity ON policy_events (signature, event_index);
   CREATE TABLE policy_heads (
     tracking_id TEXT PRIMARY KEY,
     last_offset BIGINT NOT NULL
   );
   CREATE TABLE policy_directory (
     payment_policy TEXT PRIMARY KEY,
     tracking_id    TEXT NOT NULL,
     source         TEXT NOT NULL,
     may_complete   BOOLEAN,
     learned_at     BIGINT NOT NULL
   );`;

/**
 * A position in commit order for readers of the whole policy log (the webhook
 * outbox), the same pair as the payments' (commit_xid, seq): see
 * docs/decisions/webhooks.md.
 */
export const POLICY_COMMIT_ORDER_MIGRATION = `ALTER TABLE policy_events ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;
   ALTER TABLE policy_events ADD COLUMN commit_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
   CREATE INDEX policy_events_commit_order ON policy_events (commit_xid, seq);`;

/**
 * The policy side of a PostgreSQL store. Events are appended one at a time
 * within a transaction: they are rare, and the head row's lock (taken by the
 * upsert) serialises writers of one tracking ID across nodes. The payment
 * head is read after the policy head's lock is held, in the same transaction,
 * so `afterOffset` is the payment offset at the event's commit on this node.
 */
export class PostgresPolicyLog implements PolicyEventLog {
  constructor(
    private readonly pool: pg.Pool,
    private readonly inTransaction: InTransaction,
    private readonly now: () => number,
  ) {}

  async appendPolicyEvents(events: readonly PolicyEventInput[]): Promise<PolicyAppendOutcome[]> {
    if (events.length === 0) return [];
    return this.inTransaction(async (client) => {
      const outcomes: PolicyAppendOutcome[] = [];
      for (const input of events) outcomes.push(await this.appendOne(client, input));
      return outcomes;
    });
  }

  private async appendOne(client: pg.PoolClient, input: PolicyEventInput): Promise<PolicyAppendOutcome> {
    const { rows: existing } = await client.query<PolicyEventRow>(
      "SELECT * FROM policy_events WHERE signature = $1 AND event_index = $2",
      [input.signature, input.eventIndex],
    );
    if (existing[0] !== undefined) {
      const stored = toPolicyEvent(existing[0]);
      assertSamePolicyContent(stored, input);
      return { event: stored, duplicate: true };
    }
    const { rows: heads } = await client.query<{ last_offset: string }>(
      `INSERT INTO policy_heads AS head (tracking_id, last_offset) VALUES ($1, 1)
       ON CONFLICT (tracking_id) DO UPDATE SET last_offset = head.last_offset + 1
       RETURNING last_offset`,
      [input.trackingId],
    );
    const policyOffset = Number(heads[0]?.last_offset);
    const { rows: paymentHeads } = await client.query<{ last_offset: string }>(
      "SELECT last_offset FROM tracking_heads WHERE tracking_id = $1",
      [input.trackingId],
    );
    const afterOffset = paymentHeads[0] === undefined ? 0 : Number(paymentHeads[0].last_offset);
    const receivedAt = this.now();
    await client.query(
      `INSERT INTO policy_events (tracking_id, policy_offset, after_offset, signature, event_index, payment_policy,
         status, previous_status, timestamp, gateway, recipient, slot, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
        input.trackingId,
        policyOffset,
        afterOffset,
        input.signature,
        input.eventIndex,
        input.paymentPolicy,
        input.status,
        input.previousStatus ?? null,
        input.timestamp,
        input.gateway ?? null,
        input.recipient ?? null,
        input.slot ?? null,
        receivedAt,
      ],
    );
    return {
      event: { ...input, id: policyEventId(input.signature, input.eventIndex), policyOffset, afterOffset, receivedAt },
      duplicate: false,
    };
  }

  async listPolicyEvents(query: PolicyListQuery): Promise<StoredPolicyEvent[]> {
    const { rows } = await this.pool.query<PolicyEventRow>(
      `SELECT * FROM policy_events WHERE tracking_id = $1 AND policy_offset > $2 AND after_offset >= $3
       ORDER BY policy_offset LIMIT $4`,
      [query.trackingId, query.after, query.fromPaymentOffset ?? 0, query.limit],
    );
    return rows.map(toPolicyEvent);
  }

  async latestPolicyOffset(trackingId: string): Promise<number> {
    const { rows } = await this.pool.query<{ last_offset: string }>(
      "SELECT last_offset FROM policy_heads WHERE tracking_id = $1",
      [trackingId],
    );
    return rows[0] ? Number(rows[0].last_offset) : 0;
  }

  async rememberPolicies(mappings: readonly PolicyMapping[]): Promise<void> {
    if (mappings.length === 0) return;
    await this.pool.query(
      `INSERT INTO policy_directory AS d (payment_policy, tracking_id, source, may_complete, learned_at)
       SELECT DISTINCT ON (policy) policy, tracking_id, source, may_complete, $5
       FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[]) AS m(policy, tracking_id, source, may_complete)
       ON CONFLICT (payment_policy) DO UPDATE SET may_complete = COALESCE(d.may_complete, excluded.may_complete)`,
      [
        mappings.map((m) => m.paymentPolicy),
        mappings.map((m) => m.trackingId),
        mappings.map((m) => m.source),
        mappings.map((m) => m.mayComplete ?? null),
        this.now(),
      ],
    );
  }

  async completablePolicies(paymentPolicies: readonly string[]): Promise<Set<string>> {
    if (paymentPolicies.length === 0) return new Set();
    const { rows } = await this.pool.query<{ payment_policy: string }>(
      "SELECT payment_policy FROM policy_directory WHERE payment_policy = ANY($1::text[]) AND may_complete",
      [[...new Set(paymentPolicies)]],
    );
    return new Set(rows.map((row) => row.payment_policy));
  }

  async lookupPolicies(paymentPolicies: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    if (paymentPolicies.length === 0) return found;
    const { rows } = await this.pool.query<{ payment_policy: string; tracking_id: string }>(
      "SELECT payment_policy, tracking_id FROM policy_directory WHERE payment_policy = ANY($1::text[])",
      [[...new Set(paymentPolicies)]],
    );
    for (const row of rows) found.set(row.payment_policy, row.tracking_id);
    return found;
  }
}
