import type Database from "better-sqlite3";
import { policyEventId, type PolicyEventInput, type PolicyMapping, type PolicyStatus, type StoredPolicyEvent } from "../policy-event.js";
import {
  assertSamePolicyContent,
  type PolicyAppendOutcome,
  type PolicyEventLog,
  type PolicyListQuery,
} from "./policy-event-log.js";
import { classifySqliteError, PAYMENT_HEAD_SQL } from "./sqlite-database.js";

export interface PolicyEventRow {
  tracking_id: string;
  policy_offset: number;
  after_offset: number;
  signature: string;
  event_index: number;
  payment_policy: string;
  status: string;
  previous_status: string | null;
  timestamp: number;
  gateway: string | null;
  recipient: string | null;
  slot: number | null;
  received_at: number;
}

export function toPolicyEvent(row: PolicyEventRow): StoredPolicyEvent {
  return {
    id: policyEventId(row.signature, row.event_index),
    trackingId: row.tracking_id,
    policyOffset: row.policy_offset,
    afterOffset: row.after_offset,
    signature: row.signature,
    eventIndex: row.event_index,
    paymentPolicy: row.payment_policy,
    status: row.status as PolicyStatus,
    previousStatus: (row.previous_status ?? undefined) as PolicyStatus | undefined,
    timestamp: row.timestamp,
    gateway: row.gateway ?? undefined,
    recipient: row.recipient ?? undefined,
    slot: row.slot ?? undefined,
    receivedAt: row.received_at,
  };
}

/**
 * The policy side of a SQLite store. Lifecycle events are rare next to
 * payments, so they are written on the store's own connection (an IMMEDIATE
 * transaction under the busy timeout) rather than through the payments'
 * group-commit thread; the file's write lock keeps both writers apart.
 */
export class SqlitePolicyLog implements PolicyEventLog {
  private readonly byIdentity: Database.Statement<[string, number], PolicyEventRow>;
  private readonly policyHead: Database.Statement<[string], { last_offset: number }>;
  private readonly paymentHead: Database.Statement<[string, string], { last_offset: number }>;
  private readonly upsertHead: Database.Statement<[string, number]>;
  private readonly insert: Database.Statement<unknown[]>;
  private readonly page: Database.Statement<[string, number, number, number], PolicyEventRow>;
  private readonly remember: Database.Statement<[string, string, string, number | null, number]>;
  private readonly completable: Database.Statement<[string], { may_complete: number | null }>;
  private readonly lookup: Database.Statement<[string], { tracking_id: string }>;
  private readonly appendAll: (events: readonly PolicyEventInput[]) => PolicyAppendOutcome[];
  private readonly rememberAll: (mappings: readonly PolicyMapping[]) => void;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {
    this.byIdentity = db.prepare("SELECT * FROM policy_events WHERE signature = ? AND event_index = ?");
    this.policyHead = db.prepare("SELECT last_offset FROM policy_heads WHERE tracking_id = ?");
    this.paymentHead = db.prepare(PAYMENT_HEAD_SQL);
    this.upsertHead = db.prepare(
      `INSERT INTO policy_heads (tracking_id, last_offset) VALUES (?, ?)
       ON CONFLICT (tracking_id) DO UPDATE SET last_offset = excluded.last_offset`,
    );
    this.insert = db.prepare(
      `INSERT INTO policy_events (tracking_id, policy_offset, after_offset, signature, event_index, payment_policy,
         status, previous_status, timestamp, gateway, recipient, slot, received_at, seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM policy_events))`,
    );
    this.page = db.prepare(
      `SELECT * FROM policy_events WHERE tracking_id = ? AND policy_offset > ? AND after_offset >= ?
       ORDER BY policy_offset LIMIT ?`,
    );
    this.remember = db.prepare(
      `INSERT INTO policy_directory (payment_policy, tracking_id, source, may_complete, learned_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (payment_policy) DO UPDATE SET may_complete = COALESCE(policy_directory.may_complete, excluded.may_complete)`,
    );
    this.completable = db.prepare("SELECT may_complete FROM policy_directory WHERE payment_policy = ?");
    this.lookup = db.prepare("SELECT tracking_id FROM policy_directory WHERE payment_policy = ?");
    const append = db.transaction((events: readonly PolicyEventInput[]) =>
      events.map((event) => this.appendOne(event)),
    );
    this.appendAll = (events) => append.immediate(events);
    const remember = db.transaction((mappings: readonly PolicyMapping[]) => {
      const at = this.now();
      for (const m of mappings) {
        this.remember.run(m.paymentPolicy, m.trackingId, m.source, m.mayComplete === undefined ? null : Number(m.mayComplete), at);
      }
    });
    this.rememberAll = (mappings) => remember.immediate(mappings);
  }

  private appendOne(input: PolicyEventInput): PolicyAppendOutcome {
    const existing = this.byIdentity.get(input.signature, input.eventIndex);
    if (existing !== undefined) {
      const stored = toPolicyEvent(existing);
      assertSamePolicyContent(stored, input);
      return { event: stored, duplicate: true };
    }
    const policyOffset = (this.policyHead.get(input.trackingId)?.last_offset ?? 0) + 1;
    const afterOffset = this.paymentHead.get(input.trackingId, input.trackingId)?.last_offset ?? 0;
    const receivedAt = this.now();
    this.insert.run(
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
    );
    this.upsertHead.run(input.trackingId, policyOffset);
    return {
      event: { ...input, id: policyEventId(input.signature, input.eventIndex), policyOffset, afterOffset, receivedAt },
      duplicate: false,
    };
  }

  async appendPolicyEvents(events: readonly PolicyEventInput[]): Promise<PolicyAppendOutcome[]> {
    if (events.length === 0) return [];
    try {
      return this.appendAll(events);
    } catch (error) {
      throw classifySqliteError(error);
    }
  }

  async listPolicyEvents(query: PolicyListQuery): Promise<StoredPolicyEvent[]> {
    return this.page.all(query.trackingId, query.after, query.fromPaymentOffset ?? 0, query.limit).map(toPolicyEvent);
  }

  async latestPolicyOffset(trackingId: string): Promise<number> {
    return this.policyHead.get(trackingId)?.last_offset ?? 0;
  }

  async rememberPolicies(mappings: readonly PolicyMapping[]): Promise<void> {
    if (mappings.length === 0) return;
    try {
      this.rememberAll(mappings);
    } catch (error) {
      throw classifySqliteError(error);
    }
  }

  async completablePolicies(paymentPolicies: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const address of new Set(paymentPolicies)) if (this.completable.get(address)?.may_complete === 1) found.add(address);
    return found;
  }

  async lookupPolicies(paymentPolicies: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const address of new Set(paymentPolicies)) {
      const row = this.lookup.get(address);
      if (row !== undefined) found.set(address, row.tracking_id);
    }
    return found;
  }
}
