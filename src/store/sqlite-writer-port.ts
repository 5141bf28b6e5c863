import type { PaymentInput } from "../payment.js";
import type { RetentionPolicy } from "./payment-store.js";
import type { PruneCursor, PruneStepResult } from "./prune-steps.js";
import type { RequestResult, SqliteWriter } from "./sqlite-writer.js";

/** How a SQLite store reaches its writer: on a thread of its own, or inline. */
export interface WriterPort {
  commit(group: ReadonlyArray<readonly PaymentInput[]>): Promise<RequestResult[]>;
  writeCheckpoint(source: string, value: string): Promise<void>;
  /** One step of a prune: at most one chunk of rows, in a transaction of its own. */
  pruneStep(policy: RetentionPolicy, cursor: PruneCursor): Promise<PruneStepResult>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Runs the writer on the caller's thread: for an in-memory store, which
 * another thread cannot open, and for tests that bring their own clock.
 * Closing the port closes the writer's connections.
 */
export class InlineWriterPort implements WriterPort {
  constructor(private readonly writer: SqliteWriter) {}

  async commit(group: ReadonlyArray<readonly PaymentInput[]>): Promise<RequestResult[]> {
    return this.writer.commit(group);
  }

  async writeCheckpoint(source: string, value: string): Promise<void> {
    this.writer.writeCheckpoint(source, value);
  }

  async pruneStep(policy: RetentionPolicy, cursor: PruneCursor): Promise<PruneStepResult> {
    return this.writer.pruneStep(policy, cursor);
  }

  async ping(): Promise<void> {
    this.writer.ping();
  }

  async close(): Promise<void> {
    this.writer.close();
  }
}
