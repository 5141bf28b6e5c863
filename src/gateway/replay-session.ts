import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { StoredPayment } from "../payment.js";
import type { StoredPolicyEvent } from "../policy-event.js";
import type { ListQuery, TrackingHeads } from "../store/payment-store.js";
import type { PolicyListQuery } from "../store/policy-event-log.js";

/** What a replay reads: the store's logs of payments and of policy events. */
export interface ReplayHistory {
  list(query: ListQuery): Promise<StoredPayment[]>;
  latestOffset(trackingId: string): Promise<number>;
  listPolicyEvents(query: PolicyListQuery): Promise<StoredPolicyEvent[]>;
  /** Both heads of each tracking ID, in the order asked (PaymentStore.heads). */
  heads(trackingIds: readonly string[]): Promise<TrackingHeads[]>;
}

export interface ReplaySessionOptions {
  trackingId: string;
  /** The last offset the client processed. */
  since: number;
  /** The tracking ID's latest offset, read before the socket joined the room. */
  latestAtStart: number;
  history: ReplayHistory;
  pageSize: number;
  send: (payment: StoredPayment) => void;
  /**
   * The last policy offset the client processed. Without it, the policy
   * events stored after payment `since` are replayed.
   */
  policySince?: number | undefined;
  sendPolicy: (event: StoredPolicyEvent) => void;
  /** Resolves once the live room has emitted every offset up to the given one. */
  catchUp: (offset: number) => Promise<void>;
  /** Called when retention removed payments the client asked for. */
  onTruncated: (firstAvailable: number) => void;
  /** Called synchronously once the client is caught up, so no live payment can slip in between. */
  onCaughtUp: () => void;
  /** Awaited between pages, so a client that reads slowly slows its replay instead of piling it up in memory. */
  pace?: () => Promise<void>;
}

/**
 * Brings one socket from `since` up to the live stream of one tracking ID,
 * with no gap and no duplicate.
 *
 * The socket joins the room before the first read, but the gateway holds its
 * live payments back and `offer`s them here instead. The session sends the
 * store's log page by page, then waits until the live room has emitted
 * everything up to the last offset it read (so nothing it sent can reach the
 * room again later), sends the held-back ones it has not sent yet, in offset
 * order, and hands the socket back to the room in the same tick. Every
 * payment is therefore either read or offered, and sent once.
 */
export class ReplaySession {
  private readonly held: StoredPayment[] = [];
  private lastSent: number;
  private cancelled = false;
  /**
   * Policy events read or offered and not sent yet, in policy-offset order.
   * Each goes out just before the first payment stored after it (a lower
   * `afterOffset` than that payment's offset), the rest once caught up.
   */
  private policyQueue: StoredPolicyEvent[] = [];
  private readonly policyHeld: StoredPolicyEvent[] = [];
  private lastPolicySent: number;
  private policyRead: number;
  private readonly fromPaymentOffset: number | undefined;

  constructor(private readonly options: ReplaySessionOptions) {
    this.lastSent = options.since;
    this.lastPolicySent = options.policySince ?? 0;
    this.policyRead = this.lastPolicySent;
    this.fromPaymentOffset = options.policySince === undefined ? options.since : undefined;
  }

  get trackingId(): string {
    return this.options.trackingId;
  }

  /** A live payment for this tracking ID, held back while the replay runs. */
  offer(payment: StoredPayment): void {
    if (payment.offset > this.lastSent) this.held.push(payment);
  }

  /** A live policy event for this tracking ID, held back while the replay runs. */
  offerPolicy(event: StoredPolicyEvent): void {
    if (event.policyOffset > this.lastPolicySent) this.policyHeld.push(event);
  }

  cancel(): void {
    this.cancelled = true;
  }

  async run(): Promise<void> {
    const { trackingId, history, pageSize } = this.options;
    let firstRead = true;
    await this.readPolicies();
    if (this.cancelled) return;
    for (;;) {
      for (;;) {
        const page = await history.list({ trackingId, after: this.lastSent, limit: pageSize });
        if (this.cancelled) return;
        if (firstRead) {
          firstRead = false;
          this.checkTruncation(page[0]?.offset);
        }
        for (const payment of page) this.send(payment);
        if (page.length < pageSize) break;
        // Large gaps go out page by page, letting other sockets and requests run in between.
        await yieldToEventLoop();
        if (this.cancelled) return;
        await this.options.pace?.();
        if (this.cancelled) return;
      }
      await this.options.catchUp(this.lastSent);
      if (this.cancelled) return;
      // Policy events stored while the payments were replayed; from here to
      // the hand-over nothing awaits, and later ones arrive by offerPolicy.
      await this.readPolicies();
      if (this.cancelled) return;
      this.takeHeldPolicies();
      if (this.sendHeldBack()) {
        for (const event of this.policyQueue.splice(0)) this.sendPolicy(event);
        this.options.onCaughtUp();
        return;
      }
      // A held-back payment is ahead of a gap (another node's commit not yet
      // seen here): read the store again rather than send out of order.
    }
  }

  private checkTruncation(firstListed: number | undefined): void {
    const expected = this.lastSent + 1;
    if (firstListed !== undefined) {
      if (firstListed > expected) this.options.onTruncated(firstListed);
      return;
    }
    // Nothing listed although the log had reached past `since` before the
    // read: retention removed everything the client asked for.
    const { latestAtStart } = this.options;
    if (latestAtStart >= expected) this.options.onTruncated(latestAtStart + 1);
  }

  private sendHeldBack(): boolean {
    this.held.sort((a, b) => a.offset - b.offset);
    const pending = this.held.splice(0);
    for (const payment of pending) {
      if (payment.offset <= this.lastSent) continue;
      if (payment.offset !== this.lastSent + 1) {
        this.held.push(...pending.filter((p) => p.offset > this.lastSent));
        return false;
      }
      this.send(payment);
    }
    return true;
  }

  private send(payment: StoredPayment): void {
    while (this.policyQueue[0] !== undefined && this.policyQueue[0].afterOffset < payment.offset) {
      this.sendPolicy(this.policyQueue.shift() as StoredPolicyEvent);
    }
    this.lastSent = payment.offset;
    this.options.send(payment);
  }

  private sendPolicy(event: StoredPolicyEvent): void {
    if (event.policyOffset <= this.lastPolicySent) return;
    this.lastPolicySent = event.policyOffset;
    this.options.sendPolicy(event);
  }

  /** Reads every stored policy event after the last one read (lifecycle events are few per tracking ID). */
  private async readPolicies(): Promise<void> {
    const { trackingId, history, pageSize } = this.options;
    for (;;) {
      const page = await history.listPolicyEvents({
        trackingId,
        after: this.policyRead,
        limit: pageSize,
        fromPaymentOffset: this.fromPaymentOffset,
      });
      if (this.cancelled) return;
      for (const event of page) this.policyQueue.push(event);
      const last = page[page.length - 1];
      if (last !== undefined) this.policyRead = last.policyOffset;
      if (page.length < pageSize) return;
    }
  }

  private takeHeldPolicies(): void {
    for (const event of this.policyHeld.splice(0)) {
      if (event.policyOffset > this.policyRead) {
        this.policyQueue.push(event);
        this.policyRead = event.policyOffset;
      }
    }
    this.policyQueue.sort((a, b) => a.policyOffset - b.policyOffset);
  }
}
