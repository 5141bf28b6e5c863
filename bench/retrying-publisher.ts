/**
 * A payment source that keeps every payment until the server acknowledges it,
 * as the chain watcher does: publishing at a steady rate, what is due every
 * tick as one request, and a request that fails (connection refused or reset,
 * a 5xx) is sent again unchanged, same signatures, until it is acknowledged.
 * The service stores by (signature, eventIndex), so a retry of a request that
 * was stored before the answer was lost is a duplicate, not a second payment.
 */
import type { Publisher } from "./publisher.js";
import { nowUs } from "./resubscribing-client.js";

/** The pause after a failure before the next request, so a dead server is not hammered. */
const RETRY_DELAY_MS = 50;
const MAX_PAYMENTS_PER_REQUEST = 1000;

interface PendingRequest {
  body: string;
  ids: string[];
  trackingIds: string[];
}

export interface Acknowledgement {
  trackingId: string;
  /** hrtime µs when the answer arrived. */
  ackUs: number;
}

export class RetryingPublisher {
  /** Payment id → its tracking ID and when it was first acknowledged. */
  readonly acknowledged = new Map<string, Acknowledgement>();
  /** Requests sent again after a failure. */
  retries = 0;
  /** Requests the server refused as bad (4xx): a bug in the harness, never retried. */
  rejected = 0;
  firstRejection: string | undefined;
  private readonly queue: PendingRequest[] = [];
  private inFlight = 0;
  private pausedUntil = 0;
  private producing = false;
  private production: Promise<void> = Promise.resolve();
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly publisher: Publisher,
    private readonly maxInFlight = 16,
  ) {}

  /** Starts publishing `rate` payments/s, what is due every `tickMs` as one request. */
  start(options: { rate: number; tickMs: number; trackingIdAt: (index: number) => string }): void {
    this.producing = true;
    this.production = (async () => {
      const start = performance.now();
      let index = 0;
      while (this.producing) {
        let due = Math.floor((options.rate * (performance.now() - start)) / 1000) - index;
        while (due > 0) {
          const size = Math.min(due, MAX_PAYMENTS_PER_REQUEST);
          const trackingIds: string[] = [];
          for (let i = 0; i < size; i++) trackingIds.push(options.trackingIdAt(index + i));
          index += size;
          due -= size;
          this.queue.push({ ...this.publisher.buildPayments(trackingIds), trackingIds });
        }
        this.pump();
        await new Promise((r) => setTimeout(r, options.tickMs));
      }
    })();
  }

  /** Stops making new payments and resolves once every one made is acknowledged (or `timeoutMs` passed: false). */
  async stop(timeoutMs: number): Promise<boolean> {
    this.producing = false;
    await this.production;
    this.pump();
    if (this.idle) return true;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return done;
  }

  private get idle(): boolean {
    return this.queue.length === 0 && this.inFlight === 0;
  }

  private pump(): void {
    if (performance.now() < this.pausedUntil) return;
    while (this.inFlight < this.maxInFlight) {
      const request = this.queue.shift();
      if (request === undefined) break;
      this.send(request);
    }
    if (this.idle && !this.producing) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private send(request: PendingRequest): void {
    this.inFlight++;
    this.publisher
      .post(request.body)
      .then(
        (response) => {
          if (response.status === 200 || response.status === 201) this.acknowledge(request);
          else if (response.status >= 500) this.retry(request);
          else {
            this.rejected++;
            this.firstRejection ??= `HTTP ${response.status}: ${response.body.slice(0, 200)}`;
          }
        },
        () => this.retry(request),
      )
      .finally(() => {
        this.inFlight--;
        this.pump();
      });
  }

  private acknowledge(request: PendingRequest): void {
    const ackUs = nowUs();
    request.ids.forEach((id, i) => {
      if (!this.acknowledged.has(id)) this.acknowledged.set(id, { trackingId: request.trackingIds[i] ?? "", ackUs });
    });
  }

  private retry(request: PendingRequest): void {
    this.retries++;
    this.queue.unshift(request);
    this.pausedUntil = performance.now() + RETRY_DELAY_MS;
    setTimeout(() => this.pump(), RETRY_DELAY_MS);
  }
}
