import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import { OffsetTracker } from "./offset-tracker.js";
import { readErrorMessage, readPaymentMessage } from "./payment-message.js";
import { readPolicyMessage } from "./policy-message.js";
import { TypedEmitter } from "./typed-emitter.js";
import type {
  ClientError,
  ConnectionState,
  Payment,
  PaymentClientEvents,
  PaymentHandler,
  PolicyChange,
  PolicyHandler,
  SubscribeOptions,
} from "./types.js";

export const DEFAULT_PATH = "/ws/v1";

export interface PaymentClientOptions {
  /** The service's origin, e.g. `https://api.tributary.so`. */
  url: string;
  /** @default "/ws/v1" */
  path?: string;
  /** Socket.IO transports; the Socket.IO default (long-polling, then upgrade) when absent. */
  transports?: ManagerOptions["transports"];
  /** Passed to `io()` last, so it can override anything above (reconnection timing, auth, …). */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
  /**
   * How long payments that arrived ahead of a missing offset are held back
   * before the client gives up on that offset and hands them over.
   * @default 2000
   */
  gapTimeoutMs?: number;
  /** How long to wait for the server to answer a subscribe. @default 10000 */
  ackTimeoutMs?: number;
}

export interface PaymentClient {
  /**
   * Starts delivering the payments of `trackingId` to `onPayment`: each once,
   * in offset order, across reconnects and server restarts. Live only unless
   * `since` is given. Returns the function that ends the subscription.
   * One subscription per tracking ID and client; a second one throws.
   */
  subscribe(trackingId: string, onPayment: PaymentHandler, options?: SubscribeOptions): () => void;
  /** Adds a listener; returns the function that removes it. */
  on<E extends keyof PaymentClientEvents>(event: E, listener: PaymentClientEvents[E]): () => void;
  off<E extends keyof PaymentClientEvents>(event: E, listener: PaymentClientEvents[E]): void;
  readonly state: ConnectionState;
  /** The highest offset handed to the subscription's handler (or its `since`); keep it to resume later. */
  lastOffset(trackingId: string): number | undefined;
  /** The highest policy offset handed to the subscription's `onPolicy` (or its `policySince`); keep it beside `lastOffset`. */
  lastPolicyOffset(trackingId: string): number | undefined;
  /** The underlying Socket.IO socket, for diagnostics; the client owns its listeners. */
  readonly socket: Socket;
  /** Disconnects and ends every subscription; the client cannot be used again. */
  close(): void;
}

interface Subscription {
  readonly trackingId: string;
  readonly handler: PaymentHandler;
  readonly tracker: OffsetTracker<Payment>;
  /** Present when the subscriber asked for policy changes. */
  readonly policy: { handler: PolicyHandler; tracker: OffsetTracker<PolicyChange>; replayedUpTo: number | undefined; gapTimer: ReturnType<typeof setTimeout> | undefined } | undefined;
  gapTimer: ReturnType<typeof setTimeout> | undefined;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Subscribe attempts refused for a passing reason or unanswered since the last accepted one. */
  refusals: number;
  /** The `since` of an accepted subscribe whose replay has not handed anything over yet. */
  replayingFrom: number | undefined;
  /** The log's newest offset when the server last accepted this subscription: payments up to it are replayed. */
  replayedUpTo: number | undefined;
}

// Refusals of a subscribe come back on its acknowledgement too, with the
// tracking ID attached; reporting the bare error event as well would say it twice.
const ANSWERED_BY_ACK = new Set(["INVALID_TRACKING_ID", "INVALID_SINCE", "SUBSCRIPTION_LIMIT", "STORE_UNAVAILABLE", "UNAUTHORIZED"]);
// Refusals that asking again cannot change; any other refusal (a busy store) is retried.
const FINAL_REFUSALS = new Set(["INVALID_TRACKING_ID", "INVALID_SINCE", "SUBSCRIPTION_LIMIT", "UNAUTHORIZED"]);
const RETRY_DELAY_MS = 1000;
const MAX_RETRY_DELAY_MS = 30_000;

export function createPaymentClient(options: PaymentClientOptions): PaymentClient {
  return new SocketPaymentClient(options);
}

class SocketPaymentClient implements PaymentClient {
  readonly socket: Socket;
  private readonly events = new TypedEmitter<PaymentClientEvents>();
  private readonly subscriptions = new Map<string, Subscription>();
  // Recovery restores a session's rooms, including one left while offline;
  // these are left again once the connection is back.
  private readonly leaveOnConnect = new Set<string>();
  private readonly gapTimeoutMs: number;
  private readonly ackTimeoutMs: number;
  private current: ConnectionState = "connecting";
  private closed = false;

  constructor(options: PaymentClientOptions) {
    this.gapTimeoutMs = options.gapTimeoutMs ?? 2000;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.socket = io(options.url, {
      path: options.path ?? DEFAULT_PATH,
      ...(options.transports === undefined ? {} : { transports: options.transports }),
      // io() otherwise shares one socket between clients of the same URL,
      // and closing one client would cut the other off.
      forceNew: true,
      ...options.socketOptions,
    });
    this.socket.on("connect", () => this.onConnect());
    this.socket.on("disconnect", () => this.onDisconnect());
    this.socket.on("connect_error", (error) => this.onConnectError(error));
    this.socket.on("payment", (message: unknown) => this.onPayment(message));
    this.socket.on("policy", (message: unknown) => this.onPolicy(message));
    this.socket.on("error", (message: unknown) => this.onServerError(message));
    this.socket.io.on("reconnect_failed", this.onReconnectFailed);
  }

  get state(): ConnectionState {
    return this.current;
  }

  on<E extends keyof PaymentClientEvents>(event: E, listener: PaymentClientEvents[E]): () => void {
    return this.events.on(event, listener);
  }

  off<E extends keyof PaymentClientEvents>(event: E, listener: PaymentClientEvents[E]): void {
    this.events.off(event, listener);
  }

  lastOffset(trackingId: string): number | undefined {
    return this.subscriptions.get(trackingId)?.tracker.lastOffset;
  }

  lastPolicyOffset(trackingId: string): number | undefined {
    return this.subscriptions.get(trackingId)?.policy?.tracker.lastOffset;
  }

  subscribe(trackingId: string, onPayment: PaymentHandler, options: SubscribeOptions = {}): () => void {
    if (this.closed) throw new Error("the payment client is closed");
    if (this.subscriptions.has(trackingId)) throw new Error(`already subscribed to trackingId: ${trackingId}`);
    const { since, policySince, onPolicy } = options;
    if (since !== undefined && !(Number.isSafeInteger(since) && since >= 0)) {
      throw new RangeError("since must be an integer offset ≥ 0");
    }
    if (policySince !== undefined && !(Number.isSafeInteger(policySince) && policySince >= 0)) {
      throw new RangeError("policySince must be an integer offset ≥ 0");
    }
    const subscription: Subscription = {
      trackingId,
      handler: onPayment,
      tracker: new OffsetTracker<Payment>(since),
      policy:
        onPolicy === undefined
          ? undefined
          : { handler: onPolicy, tracker: new OffsetTracker<PolicyChange>(policySince), replayedUpTo: undefined, gapTimer: undefined },
      gapTimer: undefined,
      retryTimer: undefined,
      refusals: 0,
      replayingFrom: undefined,
      replayedUpTo: undefined,
    };
    this.subscriptions.set(trackingId, subscription);
    this.leaveOnConnect.delete(trackingId);
    // While disconnected, the connect handler sends it; Socket.IO's own
    // buffering would send it a second time.
    if (this.socket.connected) this.sendSubscribe(subscription);
    return () => this.unsubscribe(subscription);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const subscription of this.subscriptions.values()) this.stopTimers(subscription);
    this.subscriptions.clear();
    this.socket.removeAllListeners();
    this.socket.io.off("reconnect_failed", this.onReconnectFailed);
    this.socket.disconnect();
    this.setState("disconnected");
  }

  private unsubscribe(subscription: Subscription): void {
    if (this.subscriptions.get(subscription.trackingId) !== subscription) return;
    this.subscriptions.delete(subscription.trackingId);
    this.stopTimers(subscription);
    if (this.socket.connected) this.socket.emit("unsubscribe", { trackingId: subscription.trackingId });
    else this.leaveOnConnect.add(subscription.trackingId);
  }

  private onConnect(): void {
    this.setState(this.socket.recovered ? "recovered" : "connected");
    // Even a recovered session re-subscribes: recovery restores rooms and
    // missed packets only within its window and only on the same node, and
    // the replay from `since` covers whatever it did not. The duplicates this
    // causes are filtered per subscription.
    for (const subscription of this.subscriptions.values()) {
      subscription.replayingFrom = undefined;
      this.sendSubscribe(subscription);
    }
    for (const trackingId of this.leaveOnConnect) this.socket.emit("unsubscribe", { trackingId });
    this.leaveOnConnect.clear();
  }

  // An arrow property, so that close() can remove exactly this listener from the manager.
  private readonly onReconnectFailed = (): void => {
    this.setState("disconnected");
    this.reportError({ code: "CONNECT_FAILED", message: "gave up reconnecting after the configured attempts" });
  };

  private onDisconnect(): void {
    // A missing offset cannot arrive while offline, and the re-subscribe after
    // the reconnect asks for it again: waiting for it resumes only then.
    for (const subscription of this.subscriptions.values()) {
      clearTimeout(subscription.gapTimer);
      subscription.gapTimer = undefined;
      if (subscription.policy !== undefined) {
        clearTimeout(subscription.policy.gapTimer);
        subscription.policy.gapTimer = undefined;
      }
    }
    // `active` is false after a server-side disconnect, which Socket.IO does not retry.
    const retrying = this.socket.active && this.socket.io.reconnection();
    this.setState(retrying ? "reconnecting" : "disconnected");
  }

  private onConnectError(error: Error): void {
    if (!this.socket.active) {
      this.setState("disconnected");
      this.reportError({ code: "CONNECT_FAILED", message: error.message });
    } else if (this.current !== "connecting") {
      this.setState("reconnecting");
    }
  }

  private stopTimers(subscription: Subscription): void {
    clearTimeout(subscription.gapTimer);
    clearTimeout(subscription.retryTimer);
    subscription.gapTimer = subscription.retryTimer = undefined;
    if (subscription.policy !== undefined) {
      clearTimeout(subscription.policy.gapTimer);
      subscription.policy.gapTimer = undefined;
    }
  }

  private sendSubscribe(subscription: Subscription): void {
    clearTimeout(subscription.retryTimer);
    subscription.retryTimer = undefined;
    const { trackingId, tracker } = subscription;
    const since = tracker.lastOffset;
    const policySince = subscription.policy?.tracker.lastOffset;
    const payload =
      since === undefined ? { trackingId } : policySince === undefined ? { trackingId, since } : { trackingId, since, policySince };
    this.socket.timeout(this.ackTimeoutMs).emit("subscribe", payload, (error: Error | null, response: unknown) => {
      if (this.subscriptions.get(trackingId) !== subscription) return;
      if (error) {
        // A disconnect fails pending acks too; the reconnect subscribes again.
        if (this.socket.connected) {
          this.scheduleRetry(subscription);
          this.reportError({ code: "SUBSCRIBE_TIMEOUT", message: `no answer to subscribe within ${this.ackTimeoutMs} ms`, trackingId });
        }
        return;
      }
      this.onSubscribeResponse(subscription, since, response);
    });
  }

  private scheduleRetry(subscription: Subscription): void {
    const delay = Math.min(RETRY_DELAY_MS * 2 ** subscription.refusals, MAX_RETRY_DELAY_MS);
    subscription.refusals += 1;
    clearTimeout(subscription.retryTimer);
    subscription.retryTimer = setTimeout(() => {
      subscription.retryTimer = undefined;
      // While disconnected, the connect handler subscribes anyway.
      if (this.subscriptions.get(subscription.trackingId) === subscription && this.socket.connected) {
        this.sendSubscribe(subscription);
      }
    }, delay);
  }

  private onSubscribeResponse(subscription: Subscription, since: number | undefined, response: unknown): void {
    const { trackingId } = subscription;
    const answer = (typeof response === "object" && response !== null ? response : {}) as {
      ok?: unknown;
      latestOffset?: unknown;
      latestPolicyOffset?: unknown;
      error?: { code?: unknown; message?: unknown };
    };
    if (answer.ok !== true) {
      const code = typeof answer.error?.code === "string" ? answer.error.code : "INVALID_MESSAGE";
      const final = FINAL_REFUSALS.has(code);
      if (final) {
        // Retrying on every reconnect would only repeat the error.
        this.subscriptions.delete(trackingId);
        this.stopTimers(subscription);
      } else {
        this.scheduleRetry(subscription);
      }
      this.reportError({
        code,
        message: typeof answer.error?.message === "string" ? answer.error.message : "subscribe refused",
        trackingId,
        ...(final ? { subscriptionEnded: true } : {}),
      });
      return;
    }
    subscription.refusals = 0;
    const latestOffset = typeof answer.latestOffset === "number" ? answer.latestOffset : undefined;
    const position = subscription.tracker.lastOffset;
    subscription.replayingFrom =
      since !== undefined && latestOffset !== undefined && latestOffset > since && position === since ? since : undefined;
    subscription.replayedUpTo = latestOffset;
    // A live-only subscription starts at the log's head as of now, so that a
    // reconnect later asks for what came after it rather than nothing.
    this.handOver(subscription, latestOffset === undefined ? [] : subscription.tracker.startAfter(latestOffset));
    const policy = subscription.policy;
    if (policy !== undefined && latestOffset !== undefined) {
      // Absent until the tracking ID has policy events: then the head is 0.
      const latestPolicy = typeof answer.latestPolicyOffset === "number" ? answer.latestPolicyOffset : 0;
      policy.replayedUpTo = latestPolicy;
      // Only a live-only start skips history; with `since` the replay brings it.
      this.handOverPolicy(subscription, since === undefined ? policy.tracker.startAfter(latestPolicy) : []);
    }
    this.events.emit("subscribed", {
      trackingId,
      ...(since === undefined ? {} : { since }),
      ...(latestOffset === undefined ? {} : { latestOffset }),
    });
  }

  private onPayment(message: unknown): void {
    const payment = readPaymentMessage(message);
    if (typeof payment === "string") return this.reportError({ code: "INVALID_MESSAGE", message: payment });
    const subscription = this.subscriptions.get(payment.trackingId);
    if (subscription === undefined) return;
    this.handOver(subscription, subscription.tracker.accept(payment));
  }

  private onPolicy(message: unknown): void {
    const change = readPolicyMessage(message);
    if (typeof change === "string") return this.reportError({ code: "INVALID_MESSAGE", message: change });
    const subscription = this.subscriptions.get(change.trackingId);
    if (subscription?.policy === undefined) return;
    this.handOverPolicy(subscription, subscription.policy.tracker.accept(change));
  }

  private handOverPolicy(subscription: Subscription, changes: PolicyChange[]): void {
    const policy = subscription.policy;
    if (policy === undefined) return;
    for (const change of changes) {
      if (this.subscriptions.get(subscription.trackingId) !== subscription) return;
      try {
        policy.handler(change, { replayed: policy.replayedUpTo !== undefined && change.offset <= policy.replayedUpTo });
      } catch (cause) {
        this.reportError({
          code: "HANDLER_ERROR",
          message: `the policy handler for trackingId ${subscription.trackingId} threw on policy offset ${change.offset}`,
          trackingId: subscription.trackingId,
          cause,
        });
      }
    }
    // Like payments: a missing policy offset is waited for at most gapTimeoutMs of connected time.
    if (!policy.tracker.hasGap) {
      clearTimeout(policy.gapTimer);
      policy.gapTimer = undefined;
    } else if (policy.gapTimer === undefined && this.socket.connected) {
      policy.gapTimer = setTimeout(() => {
        policy.gapTimer = undefined;
        if (this.subscriptions.get(subscription.trackingId) !== subscription) return;
        this.handOverPolicy(subscription, policy.tracker.skipGap());
      }, this.gapTimeoutMs);
    }
  }

  private onServerError(message: unknown): void {
    const error = readErrorMessage(message);
    if (ANSWERED_BY_ACK.has(error.code)) return;
    if (error.code === "REPLAY_TRUNCATED") {
      const subscription = this.truncatedSubscription(error.trackingId);
      if (subscription !== undefined) this.handOver(subscription, subscription.tracker.expectGap());
    }
    this.reportError(error);
  }

  /**
   * The subscription a REPLAY_TRUNCATED is about. The server sends it before
   * the first replayed payment, so when the error does not name its tracking
   * ID, the one subscription with a replay under way and nothing from it yet
   * must be it. With several such, the gap timeout has to do.
   */
  private truncatedSubscription(trackingId: string | undefined): Subscription | undefined {
    if (trackingId !== undefined) return this.subscriptions.get(trackingId);
    const candidates = [...this.subscriptions.values()].filter((s) => s.replayingFrom !== undefined);
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  private handOver(subscription: Subscription, payments: Payment[]): void {
    if (payments.length > 0) subscription.replayingFrom = undefined;
    for (const payment of payments) {
      // The handler may have ended its own subscription.
      if (this.subscriptions.get(subscription.trackingId) !== subscription) return;
      try {
        const replayed = subscription.replayedUpTo !== undefined && payment.offset <= subscription.replayedUpTo;
        subscription.handler(payment, { replayed });
      } catch (cause) {
        this.reportError({
          code: "HANDLER_ERROR",
          message: `the handler for trackingId ${subscription.trackingId} threw on offset ${payment.offset}`,
          trackingId: subscription.trackingId,
          cause,
        });
      }
    }
    this.watchGap(subscription);
  }

  /** Holds payments back behind a missing offset for at most `gapTimeoutMs` of connected time, in case it never comes. */
  private watchGap(subscription: Subscription): void {
    if (!subscription.tracker.hasGap) {
      clearTimeout(subscription.gapTimer);
      subscription.gapTimer = undefined;
    } else if (subscription.gapTimer === undefined && this.socket.connected) {
      subscription.gapTimer = setTimeout(() => {
        subscription.gapTimer = undefined;
        if (this.subscriptions.get(subscription.trackingId) !== subscription) return;
        this.handOver(subscription, subscription.tracker.skipGap());
      }, this.gapTimeoutMs);
    }
  }

  private reportError(error: ClientError): void {
    if (error.code === "HANDLER_ERROR" && this.events.listenerCount("error") === 0) {
      // Nobody listens: rethrow outside Socket.IO's event dispatch, so a bug
      // in a handler is seen without breaking the client's own state.
      setTimeout(() => {
        throw error.cause;
      });
      return;
    }
    this.events.emit("error", error);
  }

  private setState(state: ConnectionState): void {
    if (state === this.current) return;
    this.current = state;
    this.events.emit("state", state);
  }
}
