import type { Socket } from "socket.io-client";
import type { AckEnvelope, ErrorEnvelope, PaymentEnvelope, PaymentNotificationData } from "../gateway/envelopes.js";
import type { SubscriptionResponse } from "../gateway/payment-gateway.js";

/**
 * A subscriber that never loses a payment across reconnects: the client side
 * shared by the live payments page and the CLI's `watch`.
 *
 * Socket.IO's connection-state recovery covers short drops to the same
 * node; a restarted server (or another node) starts a fresh session, so
 * after any reconnect that was not recovered every tracking ID is subscribed
 * again with `since` = the last offset known for it, and the server replays
 * what was missed. Replays can overlap what was already delivered, hence the
 * de-duplication by payment id.
 */

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "recovered" | "disconnected";

export interface PaymentFeedHandlers {
  /** `replayed`: the payment was stored before this (re)subscription and is being filled in. */
  payment?(data: PaymentNotificationData, envelope: PaymentEnvelope, replayed: boolean): void;
  ack?(message: AckEnvelope): void;
  error?(message: ErrorEnvelope): void;
  /** A (re)subscription the server answered; `latestOffset` is the tracking ID's newest offset then. */
  subscribed?(response: SubscriptionResponse): void;
  state?(state: ConnectionState, detail: string): void;
}

/** Enough to recognise any replay overlap, small enough for a page left open for days. */
const REMEMBERED_IDS = 10_000;

export class PaymentFeed {
  /** Tracking ID → the highest offset this client has (or, before any payment, asked to start after). */
  private readonly offsets = new Map<string, number | undefined>();
  private readonly seen = new Set<string>();
  /** Tracking ID → the newest offset when a subscribe with `since` was answered: anything up to it is a replay. */
  private readonly replayingUpTo = new Map<string, number>();
  private connectedBefore = false;
  /** Undoes each listener this feed added, so that detach leaves the socket as it was. */
  private readonly removals: Array<() => void> = [];

  constructor(
    private readonly socket: Socket,
    private readonly handlers: PaymentFeedHandlers = {},
  ) {
    this.listen("connect", () => void this.onConnect());
    this.listen("disconnect", (reason: string) =>
      // `active` is false only after a deliberate disconnect, by us or by the server.
      this.handlers.state?.(socket.active ? "reconnecting" : "disconnected", reason),
    );
    this.listen("payment", (message: PaymentEnvelope) => this.onPayment(message));
    this.listen("ack", (message: AckEnvelope) => this.handlers.ack?.(message));
    this.listen("error", (message: ErrorEnvelope) => this.handlers.error?.(message));
    const onAttempt = (attempt: number) => this.handlers.state?.("reconnecting", `attempt ${attempt}`);
    socket.io.on("reconnect_attempt", onAttempt);
    this.removals.push(() => socket.io.off("reconnect_attempt", onAttempt));
    if (socket.connected) void this.onConnect();
  }

  get trackingIds(): string[] {
    return [...this.offsets.keys()];
  }

  /** The highest offset known for a tracking ID, from payments received or the subscription ack. */
  lastOffset(trackingId: string): number | undefined {
    return this.offsets.get(trackingId);
  }

  /**
   * Subscribes now if connected, else on the next connect. With `since`, the
   * server first replays the stored payments after that offset.
   */
  async subscribe(trackingId: string, since?: number): Promise<SubscriptionResponse | undefined> {
    if (!this.offsets.has(trackingId)) this.offsets.set(trackingId, since);
    if (!this.socket.connected) return undefined;
    return this.sendSubscribe(trackingId);
  }

  unsubscribe(trackingId: string): void {
    this.offsets.delete(trackingId);
    this.replayingUpTo.delete(trackingId);
    if (this.socket.connected) this.socket.emit("unsubscribe", { trackingId });
  }

  /** Detaches from the socket; the socket itself stays the caller's. */
  detach(): void {
    for (const remove of this.removals.splice(0)) remove();
  }

  // Server events arrive untyped; each listener states the payload it expects.
  private listen<T>(event: string, listener: (payload: T) => void): void {
    const untyped = listener as (...args: unknown[]) => void;
    this.socket.on(event, untyped);
    this.removals.push(() => this.socket.off(event, untyped));
  }

  private async onConnect(): Promise<void> {
    const reconnect = this.connectedBefore;
    this.connectedBefore = true;
    if (this.socket.recovered) {
      // The server kept our rooms and sent what we missed; nothing to ask for.
      this.handlers.state?.("recovered", "session restored by the server");
      return;
    }
    if (!reconnect) {
      this.handlers.state?.("connected", "");
      await Promise.all(this.trackingIds.map((trackingId) => this.sendSubscribe(trackingId)));
      return;
    }
    this.handlers.state?.("reconnecting", "subscribing again from the last offsets seen");
    const responses = await Promise.all(this.trackingIds.map((trackingId) => this.sendSubscribe(trackingId)));
    if (this.socket.connected) {
      const failed = responses.filter((response) => response?.ok !== true).length;
      this.handlers.state?.(
        "recovered",
        failed === 0 ? "missed payments replayed from the last offsets seen" : `${failed} subscription(s) could not be restored`,
      );
    }
  }

  private async sendSubscribe(trackingId: string): Promise<SubscriptionResponse | undefined> {
    const since = this.offsets.get(trackingId);
    let response: SubscriptionResponse;
    try {
      response = (await this.socket
        .timeout(10_000)
        .emitWithAck("subscribe", since === undefined ? { trackingId } : { trackingId, since })) as SubscriptionResponse;
    } catch {
      // No answer: the connection went away, and the next connect subscribes again.
      return undefined;
    }
    if (response.ok && this.offsets.has(trackingId)) {
      if (since === undefined) {
        // Live from here on: a reconnect must replay from this point, not from the start.
        if (this.offsets.get(trackingId) === undefined) this.offsets.set(trackingId, response.latestOffset);
      } else if (response.latestOffset !== undefined) {
        this.replayingUpTo.set(trackingId, response.latestOffset);
      }
    }
    this.handlers.subscribed?.(response);
    return response;
  }

  private onPayment(message: PaymentEnvelope): void {
    const data = message.data;
    if (!this.offsets.has(data.trackingId) || this.seen.has(data.id)) return;
    this.seen.add(data.id);
    if (this.seen.size > REMEMBERED_IDS) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    const known = this.offsets.get(data.trackingId);
    if (known === undefined || data.offset > known) this.offsets.set(data.trackingId, data.offset);
    const replayedUpTo = this.replayingUpTo.get(data.trackingId);
    const replayed = replayedUpTo !== undefined && data.offset <= replayedUpTo;
    if (replayedUpTo !== undefined && data.offset >= replayedUpTo) this.replayingUpTo.delete(data.trackingId);
    this.handlers.payment?.(data, message, replayed);
  }
}
