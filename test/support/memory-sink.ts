/**
 * In-memory PaymentSink and CheckpointStore for source tests. The sink keeps
 * the store's identity rule (a payment seen twice is stored once) and records
 * every raw ingest call, so tests can tell "delivered once" from "absorbed".
 */
import { EventEmitter } from "node:events";
import { paymentId, type PaymentInput } from "../../src/payment.js";
import type { CheckpointStore } from "../../src/sources/checkpoint-store.js";
import type { IngestOutcome, PaymentSink } from "../../src/ingest/payment-sink.js";

export class MemorySink
  extends EventEmitter<{ ingesting: [readonly PaymentInput[]]; ingested: [PaymentInput[]] }>
  implements PaymentSink
{
  /** Stored payments by identity, in first-seen order. */
  readonly stored = new Map<string, PaymentInput>();
  /** Every payment handed to ingest, duplicates included. */
  readonly received: PaymentInput[] = [];
  /** When set, ingest rejects with it (a store outage). */
  failWith: Error | undefined;
  /** When set, ingest waits for it first (a slow store). */
  hold: Promise<void> | undefined;

  async ingest(payments: readonly PaymentInput[]): Promise<IngestOutcome[]> {
    this.emit("ingesting", payments);
    if (this.hold) await this.hold;
    if (this.failWith) throw this.failWith;
    const outcomes: IngestOutcome[] = [];
    for (const payment of payments) {
      this.received.push(payment);
      const id = paymentId(payment.signature, payment.eventIndex);
      const duplicate = this.stored.has(id);
      if (!duplicate) this.stored.set(id, payment);
      outcomes.push({ id, trackingId: payment.trackingId, offset: this.stored.size, duplicate });
    }
    this.emit("ingested", [...payments]);
    return outcomes;
  }

  /** Resolves once `predicate` holds, checked now and after every ingest. */
  async until(predicate: (sink: this) => boolean, timeoutMs = 10_000): Promise<void> {
    if (predicate(this)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off("ingested", check);
        reject(new Error(`condition not met within ${timeoutMs} ms (stored ${this.stored.size})`));
      }, timeoutMs);
      const check = (): void => {
        if (!predicate(this)) return;
        clearTimeout(timer);
        this.off("ingested", check);
        resolve();
      };
      this.on("ingested", check);
    });
  }

  untilStored(count: number, timeoutMs?: number): Promise<void> {
    return this.until((sink) => sink.stored.size >= count, timeoutMs);
  }
}

export class MemoryCheckpointStore implements CheckpointStore {
  readonly values = new Map<string, string>();
  readonly writes: string[] = [];

  async readCheckpoint(source: string): Promise<string | undefined> {
    return this.values.get(source);
  }

  async writeCheckpoint(source: string, value: string): Promise<void> {
    this.values.set(source, value);
    this.writes.push(value);
  }
}
