import type Database from "better-sqlite3";
import type { PaymentInput, StoredPayment } from "../payment.js";
import type { AppendOutcome, ListQuery, PaymentStore, RetentionPolicy, TrackingHeads } from "./payment-store.js";
import type { PolicyEventInput, PolicyMapping, StoredPolicyEvent } from "../policy-event.js";
import type { PolicyAppendOutcome, PolicyListQuery } from "./policy-event-log.js";
import { pruneInSteps } from "./prune-steps.js";
import { SqlitePolicyLog } from "./sqlite-policy-log.js";
import {
  classifySqliteError,
  openSqliteConnection,
  PAYMENT_HEAD_SQL,
  PAYMENT_PAGE_SQL,
  toPayment,
  TRACKING_HEAD_SQL,
  TRACKING_HEADS_SQL,
  type PaymentRow,
} from "./sqlite-database.js";
import { attachPaymentIndex, preparePaymentIndex } from "./sqlite-payment-index.js";
import { appendOutcomes, openSqliteFileWriter, SqliteWriter } from "./sqlite-writer.js";
import { InlineWriterPort, type WriterPort } from "./sqlite-writer-port.js";
import { ThreadWriterPort } from "./sqlite-thread-writer-port.js";

export interface SqliteStoreOptions {
  /** File path, or `:memory:` for a throwaway store. */
  path: string;
  /** How long (ms) a write waits for a lock held by another connection before failing. */
  busyTimeoutMs?: number;
  /**
   * Clock for `receivedAt`; injectable for tests. A clock cannot cross to
   * another thread, so setting it keeps the writer inline.
   */
  now?: () => number;
}

export function openSqliteStore(options: SqliteStoreOptions): PaymentStore {
  const busyTimeoutMs = options.busyTimeoutMs ?? 2000;
  // This connection migrates the file, brings its index file up to date, and
  // then reads (and appends policy events): WAL readers never wait for the
  // writer, so reads stay on the event loop.
  // Not mapped: it reads beside the writer thread's commits (sqlite-database.ts).
  const db = openSqliteConnection({ path: options.path, busyTimeoutMs, migrate: true, mmap: false });
  const inMemory = options.path === ":memory:";
  try {
    if (!inMemory) preparePaymentIndex(db, options.path, busyTimeoutMs);
    attachPaymentIndex(db, options.path);
  } catch (error) {
    db.close();
    throw error;
  }
  // An in-memory store's writer shares this connection: no other can open it.
  const writer = inMemory
    ? new InlineWriterPort(new SqliteWriter(db, db, options.now ?? Date.now))
    : options.now !== undefined
      ? new InlineWriterPort(openSqliteFileWriter(options.path, busyTimeoutMs, options.now))
      : new ThreadWriterPort({ path: options.path, busyTimeoutMs });
  return new SqliteStore(db, writer, new SqlitePolicyLog(db, options.now ?? Date.now));
}

interface HeadsRow {
  latest_offset: number;
  latest_policy_offset: number;
}

interface PendingAppend {
  payments: readonly PaymentInput[];
  resolve: (outcomes: AppendOutcome[]) => void;
  reject: (error: unknown) => void;
}

class SqliteStore implements PaymentStore {
  private readonly head: Database.Statement<[string, string], { last_offset: number }>;
  private readonly page: Database.Statement<[string, number, number], PaymentRow>;
  private readonly trackingHeads: Database.Statement<[string], HeadsRow>;
  private readonly trackingHead: Database.Statement<[{ trackingId: string }], HeadsRow>;
  private readonly readCheckpointStatement: Database.Statement<[string], { value: string }>;
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  private committing = false;

  constructor(
    private readonly db: Database.Database,
    private readonly writer: WriterPort,
    private readonly policies: SqlitePolicyLog,
  ) {
    this.head = db.prepare(PAYMENT_HEAD_SQL);
    this.page = db.prepare(PAYMENT_PAGE_SQL);
    this.trackingHeads = db.prepare(TRACKING_HEADS_SQL);
    this.trackingHead = db.prepare(TRACKING_HEAD_SQL);
    this.readCheckpointStatement = db.prepare("SELECT value FROM checkpoints WHERE source = ?");
  }

  /**
   * Group commit: appends requested while the writer is busy wait and go
   * together into its next transaction, so they share one fsync. The busier
   * the service, the more each sync carries.
   */
  append(payments: readonly PaymentInput[]): Promise<AppendOutcome[]> {
    return new Promise((resolve, reject) => {
      this.pending.push({ payments, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.committing || this.flushScheduled || this.pending.length === 0) return;
    this.flushScheduled = true;
    // Waiting for the end of this turn lets everything the turn requested join the group.
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const group = this.pending;
    this.pending = [];
    this.committing = true;
    try {
      const results = await this.writer.commit(group.map((request) => request.payments));
      group.forEach((request, index) => {
        const result = results[index];
        if (result === undefined) request.reject(new Error("the writer returned no result for an append"));
        else if ("error" in result) request.reject(classifySqliteError(result.error));
        else request.resolve(appendOutcomes(request.payments, result));
      });
    } catch (error) {
      const failure = classifySqliteError(error);
      for (const request of group) request.reject(failure);
    } finally {
      this.committing = false;
      this.scheduleFlush();
    }
  }

  async list(query: ListQuery): Promise<StoredPayment[]> {
    return this.page.all(query.trackingId, query.after, query.limit).map(toPayment);
  }

  async latestOffset(trackingId: string): Promise<number> {
    return this.head.get(trackingId, trackingId)?.last_offset ?? 0;
  }

  async heads(trackingIds: readonly string[]): Promise<TrackingHeads[]> {
    const [first] = trackingIds;
    if (first === undefined) return [];
    const rows = trackingIds.length === 1 ? [this.trackingHead.get({ trackingId: first })!] : this.trackingHeads.all(JSON.stringify(trackingIds));
    return rows.map((row) => ({ latestOffset: row.latest_offset, latestPolicyOffset: row.latest_policy_offset }));
  }

  async readCheckpoint(source: string): Promise<string | undefined> {
    return this.readCheckpointStatement.get(source)?.value;
  }

  writeCheckpoint(source: string, value: string): Promise<void> {
    return this.writer.writeCheckpoint(source, value);
  }

  async ping(): Promise<void> {
    try {
      await this.writer.ping();
    } catch (error) {
      throw classifySqliteError(error);
    }
  }

  prune(policy: RetentionPolicy): Promise<number> {
    return pruneInSteps(policy, (stepPolicy, cursor) => this.writer.pruneStep(stepPolicy, cursor));
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

  async close(): Promise<void> {
    await this.writer.close();
    if (this.db.open) this.db.close();
  }
}
