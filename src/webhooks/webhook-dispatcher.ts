import type { Logger } from "../logger.js";
import { endpointMessages } from "./webhook-messages.js";
import type { AttemptResult, WebhookMetrics } from "./webhook-metrics.js";
import type { SendResult, WebhookSender } from "./webhook-sender.js";
import { signatureHeader } from "./webhook-signature.js";
import type { AttemptOutcome, WebhookDelivery, WebhookEndpoint, WebhookStore } from "./webhook-store.js";

export interface WebhookDispatcherOptions {
  store: WebhookStore;
  sender: WebhookSender;
  metrics: WebhookMetrics;
  logger: Logger;
  /** This node's name in leases and the attempt log. */
  node: string;
  /** Delays (ms) before the 2nd, 3rd, … attempt; past the last one a message is given up. */
  retryScheduleMs: readonly number[];
  /** An endpoint failing without a success for this long (ms) is disabled. */
  disableAfterMs: number;
  /** How long (ms) a claimed message is this node's alone; longer than one attempt can take. */
  leaseMs: number;
  /** How often (ms) the log and the outbox are looked at when nothing wakes the dispatcher. */
  pollIntervalMs: number;
  /** Attempts in flight per endpoint, so a slow receiver holds only its own share. */
  maxInFlightPerEndpoint: number;
  /** Attempts in flight on this node. */
  maxInFlight: number;
  /** Delivered and given-up messages and attempts older than this (ms) are forgotten. */
  logRetentionMs: number;
  /** Log entries read per materialising step. */
  batchSize?: number;
  now?: () => number;
  random?: () => number;
}

/** ±20 %, so receivers failing together are not retried in lockstep. */
const JITTER = 0.2;
const USER_AGENT = "tributary-ws-webhooks/1";

/**
 * Turns the payment log into webhook messages and delivers them. All state is
 * in the store: this loop can stop at any instant (SIGKILL included) and any
 * node can carry on; what was in flight is attempted again under its lease's
 * expiry with the same `webhook-id`.
 */
export class WebhookDispatcher {
  private readonly inFlight = new Map<string, number>();
  private readonly attempts = new Set<Promise<void>>();
  private totalInFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private again = false;
  private stopped = true;
  private lastPrune = 0;
  private readonly now: () => number;
  private readonly random: () => number;
  /** A tick is due at once: further wakes before it runs have nothing to add. */
  private tickSoon = false;
  /** Whether the last round found an enabled endpoint; until the first round, assumed. */
  private endpointsFound = true;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.wake();
  }

  /**
   * A payment or policy event was stored on this node: the log is looked at
   * now if the last round found an endpoint to feed, so that a node without
   * any does not read the endpoints on every commit. Nothing waits for such
   * a round: the next poll finds an endpoint added on another node, and one
   * added here wakes the dispatcher.
   */
  logGrew(): void {
    if (this.endpointsFound) this.wake();
  }

  /** Looks at the log and the outbox now, for example after an endpoint was added or a message queued. */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    // Every stored payment wakes the dispatcher: one timer per turn, not one per payment.
    if (this.tickSoon) return;
    this.tickSoon = true;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), 0);
  }

  /**
   * Stops claiming and waits up to `graceMs` for attempts in flight. One
   * still running after that is cut with the process; its lease expires and
   * it is sent again under the same webhook-id, which receivers tolerate.
   */
  async stop(graceMs = Number.POSITIVE_INFINITY): Promise<void> {
    this.stopped = true;
    this.tickSoon = false;
    clearTimeout(this.timer);
    let timer: NodeJS.Timeout | undefined;
    const grace = Number.isFinite(graceMs) ? new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))) : new Promise<void>(() => undefined);
    await Promise.race([Promise.allSettled([...this.attempts]), grace]);
    clearTimeout(timer);
  }

  private async tick(): Promise<void> {
    this.tickSoon = false;
    this.ticking = true;
    this.again = false;
    try {
      const endpoints = await this.options.store.listEnabledEndpoints();
      this.endpointsFound = endpoints.length > 0;
      for (const endpoint of endpoints) {
        if (this.stopped) break;
        await this.materialise(endpoint);
      }
      for (const endpoint of endpoints) {
        if (this.stopped) break;
        await this.claim(endpoint);
      }
      await this.pruneHourly();
    } catch (error) {
      this.options.logger.warn({ err: error }, "webhook dispatch round failed; retrying on the next round");
    } finally {
      this.ticking = false;
      if (!this.stopped) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.tick(), this.again ? 0 : this.options.pollIntervalMs);
      }
    }
  }

  private async pruneHourly(): Promise<void> {
    const now = this.now();
    if (now - this.lastPrune < 3600_000) return;
    this.lastPrune = now;
    const deleted = await this.options.store.pruneFinished(now - this.options.logRetentionMs);
    if (deleted > 0) this.options.logger.info({ deleted }, "old webhook deliveries and attempts forgotten");
  }

  private async materialise(endpoint: WebhookEndpoint): Promise<void> {
    const batch = this.options.batchSize ?? 500;
    const build = endpointMessages(endpoint, this.now);
    // Bounded per round, so one endpoint far behind does not starve the others' deliveries.
    for (let round = 0; round < 20; round++) {
      if ((await this.options.store.materialise(endpoint.id, build, batch)) < batch) return;
    }
    this.again = true;
  }

  private async claim(endpoint: WebhookEndpoint): Promise<void> {
    const busy = this.inFlight.get(endpoint.id) ?? 0;
    const free = Math.min(this.options.maxInFlightPerEndpoint - busy, this.options.maxInFlight - this.totalInFlight);
    if (free <= 0) return;
    const claimed = await this.options.store.claim(endpoint.id, this.options.node, this.now(), this.options.leaseMs, free);
    for (const delivery of claimed) {
      this.inFlight.set(endpoint.id, (this.inFlight.get(endpoint.id) ?? 0) + 1);
      this.totalInFlight++;
      const attempt = this.attempt(endpoint, delivery)
        .catch((error: unknown) => this.options.logger.warn({ err: error, endpointId: endpoint.id }, "recording a webhook attempt failed"))
        .finally(() => {
          this.attempts.delete(attempt);
          this.totalInFlight--;
          const left = (this.inFlight.get(endpoint.id) ?? 1) - 1;
          if (left === 0) this.inFlight.delete(endpoint.id);
          else this.inFlight.set(endpoint.id, left);
          // The next message of this tracking ID may be due now.
          this.wake();
        });
      this.attempts.add(attempt);
    }
  }

  private async attempt(endpoint: WebhookEndpoint, delivery: WebhookDelivery): Promise<void> {
    const attemptedAt = this.now();
    const timestamp = Math.floor(attemptedAt / 1000);
    const result = await this.options.sender.send({
      url: endpoint.url,
      body: delivery.body,
      headers: {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.messageId,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signatureHeader(endpoint.secrets, attemptedAt, delivery.messageId, timestamp, delivery.body),
      },
    });
    const attemptNumber = delivery.attempts + 1;
    const outcome = this.outcome(endpoint, attemptNumber, result, attemptedAt);
    const resultLabel: AttemptResult =
      result.statusCode === undefined
        ? (result.failure ?? "network")
        : result.statusCode >= 200 && result.statusCode < 300
          ? "delivered"
          : result.statusCode === 410
            ? "gone"
            : "failed";
    this.options.metrics.attempts.inc({ result: resultLabel });
    this.options.metrics.latencySeconds.observe(result.latencyMs / 1000);
    const held = await this.options.store.recordAttempt(
      {
        endpointId: endpoint.id,
        messageId: delivery.messageId,
        attempt: attemptNumber,
        attemptedAt,
        latencyMs: result.latencyMs,
        node: this.options.node,
        ...(result.statusCode === undefined ? {} : { statusCode: result.statusCode }),
        ...(result.error === undefined ? {} : { error: result.error }),
        ...(outcome.kind === "retry" ? { nextRetryAt: outcome.nextAttemptAt } : {}),
      },
      outcome,
    );
    if (!held) {
      this.options.logger.warn({ endpointId: endpoint.id, messageId: delivery.messageId }, "a webhook lease expired during its attempt");
      return;
    }
    if (outcome.kind === "disable-endpoint") {
      this.options.metrics.endpointsDisabled.inc({ reason: result.statusCode === 410 ? "gone" : "failing" });
      this.options.logger.warn({ endpointId: endpoint.id, url: endpoint.url, reason: outcome.reason }, "webhook endpoint disabled");
    } else if (outcome.kind === "given-up") {
      this.options.logger.warn(
        { endpointId: endpoint.id, messageId: delivery.messageId, attempts: attemptNumber },
        "webhook message given up after its last retry",
      );
    }
  }

  private outcome(endpoint: WebhookEndpoint, attemptNumber: number, result: SendResult, now: number): AttemptOutcome {
    const status = result.statusCode;
    if (status !== undefined && status >= 200 && status < 300) return { kind: "delivered" };
    if (status === 410) return { kind: "disable-endpoint", reason: "the receiver answered 410 Gone", nextAttemptAt: now };
    const failingSince = endpoint.failingSince ?? now;
    if (now - failingSince >= this.options.disableAfterMs) {
      return {
        kind: "disable-endpoint",
        reason: `failing without a success since ${new Date(failingSince).toISOString()}`,
        nextAttemptAt: now,
      };
    }
    const delay = this.options.retryScheduleMs[attemptNumber - 1];
    if (delay === undefined) return { kind: "given-up" };
    const jittered = delay * (1 - JITTER + 2 * JITTER * this.random());
    return { kind: "retry", nextAttemptAt: now + Math.round(Math.max(jittered, result.retryAfterMs ?? 0)) };
  }
}
