import { ServiceError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { PaymentInput, StoredPayment } from "../payment.js";
import type { PolicyEventInput, StoredPolicyEvent } from "../policy-event.js";
import type { IngestOutcome, PaymentSink } from "./payment-sink.js";
import type { PolicyEventSink, PolicyIngestOutcome } from "./policy-event-sink.js";
import { PolicyIdentityConflictError } from "../store/policy-event-log.js";
import { IdentityConflictError, StoreFatalError, type PaymentStore } from "../store/payment-store.js";

export interface PaymentIngestOptions {
  store: PaymentStore;
  /** Called once a payment is durably stored (never before): the wiring sends it to rooms and other nodes. */
  onStored: (payment: StoredPayment) => void;
  /** Called once a policy lifecycle event is durably stored: the wiring sends it to rooms. */
  onPolicyStored: (event: StoredPolicyEvent) => void;
  metrics: Metrics;
  logger: Logger;
  /** Called once per fatal store error; the app drops clients and exits. */
  onFatalStoreError: (error: StoreFatalError) => void;
}

/**
 * The core of the pipeline: store first, then emit. A payment is handed to
 * the gateway only after the store committed it, and each source learns of
 * success only then, so nothing acknowledged upstream can be lost.
 */
export class PaymentIngest {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: PaymentIngestOptions) {}

  /** Resolves once every ingest started so far has finished, so shutdown never cuts one in half. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  /** A sink bound to one source, so metrics and logs say where payments came from. */
  sinkFor(source: string): PaymentSink & PolicyEventSink {
    return {
      ingest: (payments) => this.ingest(payments, source),
      ingestPolicyEvents: (events) => this.ingestPolicyEvents(events, source),
    };
  }

  /** Policy lifecycle events take the same path as payments: stored first, then emitted. */
  ingestPolicyEvents(events: readonly PolicyEventInput[], source: string): Promise<PolicyIngestOutcome[]> {
    const running = this.storeAndDeliverPolicies(events, source);
    this.inFlight.add(running);
    void running.finally(() => this.inFlight.delete(running)).catch(() => undefined);
    return running;
  }

  private async storeAndDeliverPolicies(events: readonly PolicyEventInput[], source: string): Promise<PolicyIngestOutcome[]> {
    const { store, onPolicyStored, metrics, logger } = this.options;
    let outcomes;
    try {
      outcomes = await store.appendPolicyEvents(events);
    } catch (error) {
      if (error instanceof PolicyIdentityConflictError) {
        metrics.countError("IDENTITY_CONFLICT");
        throw new ServiceError("IDENTITY_CONFLICT", error.message);
      }
      logger.error({ err: error, source, count: events.length }, "policy event append failed; nothing was stored");
      metrics.countError("STORE_UNAVAILABLE");
      if (error instanceof StoreFatalError) this.options.onFatalStoreError(error);
      throw new ServiceError("STORE_UNAVAILABLE");
    }
    let stored = 0;
    for (const { event, duplicate } of outcomes) {
      if (duplicate) continue;
      stored++;
      onPolicyStored(event);
    }
    metrics.policyEventsIngested.inc({ source }, stored);
    return outcomes.map(({ event, duplicate }) => ({
      id: event.id,
      trackingId: event.trackingId,
      policyOffset: event.policyOffset,
      duplicate,
    }));
  }

  /**
   * @param startedAt `performance.now()` when the payments reached the
   *   service, for the publish-to-emit histogram.
   */
  ingest(payments: readonly PaymentInput[], source: string, startedAt = performance.now()): Promise<IngestOutcome[]> {
    const running = this.storeAndDeliver(payments, source, startedAt);
    this.inFlight.add(running);
    void running.finally(() => this.inFlight.delete(running)).catch(() => undefined);
    return running;
  }

  private async storeAndDeliver(
    payments: readonly PaymentInput[],
    source: string,
    startedAt: number,
  ): Promise<IngestOutcome[]> {
    const { store, onStored, metrics, logger } = this.options;
    let outcomes;
    try {
      // Beside publish-to-emit, so that a slow disk can be told from a busy event loop.
      const commitStarted = performance.now();
      outcomes = await store.append(payments);
      metrics.storeCommitSeconds.observe((performance.now() - commitStarted) / 1000);
    } catch (error) {
      if (error instanceof IdentityConflictError) {
        metrics.countError("IDENTITY_CONFLICT");
        throw new ServiceError("IDENTITY_CONFLICT", error.message);
      }
      logger.error({ err: error, source, count: payments.length }, "store append failed; nothing was stored");
      metrics.countError("STORE_UNAVAILABLE");
      if (error instanceof StoreFatalError) this.options.onFatalStoreError(error);
      throw new ServiceError("STORE_UNAVAILABLE");
    }
    let stored = 0;
    for (const { payment, duplicate } of outcomes) {
      if (duplicate) continue;
      stored++;
      onStored(payment);
    }
    const elapsedSeconds = (performance.now() - startedAt) / 1000;
    for (let i = 0; i < stored; i++) metrics.publishToEmitSeconds.observe(elapsedSeconds);
    metrics.paymentsIngested.inc({ source }, stored);
    metrics.paymentsDuplicate.inc({ source }, outcomes.length - stored);
    return outcomes.map(({ payment, duplicate }) => ({
      id: payment.id,
      trackingId: payment.trackingId,
      offset: payment.offset,
      duplicate,
    }));
  }
}
