import { ERRORS, type ErrorCode } from "../errors.js";
import type { RefusalLog } from "../limits/refusal-log.js";
import type { SubscriptionBudget } from "../limits/subscription-budget.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { isValidTrackingId } from "../payment.js";
import { ackEnvelope, errorEnvelope } from "../protocol/envelopes.js";
import { addressOfData } from "./connection-admission.js";
import type { Acknowledge, GatewaySocket } from "./gateway-socket.js";
import type { ReplayRegistry } from "./replay-registry.js";
import type { HeadReads } from "./head-reads.js";
import type { RoomSequencer } from "./room-sequencer.js";
import type { SlowConsumerGuard } from "./slow-consumer-guard.js";
import type { SubscribeAuthorizer } from "./subscribe-authorizer.js";
import { isTrackingRoom, roomOf, trackingIdOf } from "./tracking-rooms.js";

export interface SubscriptionHandlerOptions {
  metrics: Metrics;
  logger: Logger;
  /** Where a subscribe reads its tracking ID's heads. */
  heads: HeadReads;
  maxSubscriptionsPerSocket: number;
  maxSubscriptionsPerNode: number | undefined;
  maxSubscriptionsPerAddress: number | undefined;
  /** Subscriptions per address and per node, recovery sessions' included. */
  budget: SubscriptionBudget;
  authorizer: SubscribeAuthorizer;
  refusals: RefusalLog | undefined;
  sequencer: RoomSequencer;
  replays: ReplayRegistry;
  guard: SlowConsumerGuard;
}

/**
 * A socket's subscribes and unsubscribes not yet applied. Subscribes run side
 * by side (their head reads are shared, head-reads.ts); an unsubscribe waits
 * for every earlier one, and a subscribe for the last unsubscribe before it.
 */
interface PendingChanges {
  /** Settles when every change sent so far has been applied. */
  all: Promise<void>;
  /** Settles when the last unsubscribe sent has been applied. */
  unsubscribed: Promise<void> | undefined;
}

/**
 * A socket's `subscribe` and `unsubscribe`, with the spec's acks and errors:
 * checks what the client sent, the token, and the limits, joins or leaves the
 * tracking ID's room, and starts a replay for `since`. A socket's changes take
 * effect, and are acknowledged, in the order it sent them, although a
 * subscribe waits for the store (and the token's check) and an unsubscribe
 * does not.
 */
export class SubscriptionHandler {
  private subscriptionCount = 0;
  /** Only sockets with a change in flight have an entry. */
  private readonly pending = new WeakMap<GatewaySocket, PendingChanges>();
  /** Every socket's listeners, the same functions for all: closures per socket cost about 200 bytes. */
  private readonly socketListeners = {
    subscribe: withSocket((socket, ...args: unknown[]) => this.subscribeInOrder(socket, ...splitAcknowledgement(args))),
    unsubscribe: withSocket((socket, ...args: unknown[]) => this.unsubscribeInOrder(socket, ...splitAcknowledgement(args))),
    disconnecting: withSocket((socket, reason: string) => this.onDisconnecting(socket, reason)),
  };

  constructor(private readonly options: SubscriptionHandlerOptions) {}

  /** Subscriptions of this node's live sockets. */
  get subscriptions(): number {
    return this.subscriptionCount;
  }

  /** Takes a newly connected socket: counts it and the rooms it recovered, and listens to it until it leaves. */
  attach(socket: GatewaySocket): void {
    this.options.metrics.connections.inc();
    if (socket.recovered) {
      const restored = [...socket.rooms].filter(isTrackingRoom);
      // The missed packets were recorded in order; the room continues from here.
      for (const room of restored) this.options.sequencer.track(trackingIdOf(room), undefined);
      this.countSubscriptions(socket, restored.length);
      this.options.logger.debug({ socket: socket.id, restored: restored.length }, "session recovered");
    }
    socket.on("subscribe", this.socketListeners.subscribe);
    socket.on("unsubscribe", this.socketListeners.unsubscribe);
    socket.on("disconnecting", this.socketListeners.disconnecting);
  }

  /** Answers a refused event: the error to the socket, and to its callback when it passed one. */
  refuse(socket: GatewaySocket, acknowledge: Acknowledge | undefined, code: ErrorCode, message: string = ERRORS[code].message): void {
    this.options.metrics.countError(code);
    socket.emit("error", errorEnvelope(code, message));
    acknowledge?.({ ok: false, error: { code, message } });
  }

  private subscribeInOrder(socket: GatewaySocket, payload: unknown, acknowledge: Acknowledge | undefined): void {
    const after = this.pending.get(socket)?.unsubscribed;
    const subscribe = () => this.onSubscribe(socket, payload, acknowledge);
    this.remember(socket, after === undefined ? subscribe() : after.then(subscribe), false);
  }

  private unsubscribeInOrder(socket: GatewaySocket, payload: unknown, acknowledge: Acknowledge | undefined): void {
    const earlier = this.pending.get(socket)?.all;
    // Nothing in flight, the common case: applied at once, as a stock client's single unsubscribe.
    if (earlier === undefined) return this.onUnsubscribe(socket, payload, acknowledge);
    this.remember(
      socket,
      earlier.then(() => this.onUnsubscribe(socket, payload, acknowledge)),
      true,
    );
  }

  /** Adds a change in flight to its socket's; the entry goes once everything sent has been applied. */
  private remember(socket: GatewaySocket, applying: Promise<void>, unsubscribe: boolean): void {
    // A change that failed is logged and counts as done: the socket's later changes still run.
    const applied = applying.catch((error: unknown) => {
      this.options.logger.error({ err: error, socket: socket.id }, "a subscription change failed");
    });
    const before = this.pending.get(socket);
    const changes: PendingChanges = {
      all: before === undefined ? applied : Promise.all([before.all, applied]).then(() => undefined),
      unsubscribed: unsubscribe ? applied : before?.unsubscribed,
    };
    this.pending.set(socket, changes);
    void changes.all.then(() => {
      if (this.pending.get(socket) === changes) this.pending.delete(socket);
    });
  }

  private onDisconnecting(socket: GatewaySocket, reason: string): void {
    this.options.replays.endAll(socket);
    this.options.metrics.connections.dec();
    this.countSubscriptions(socket, -[...socket.rooms].filter(isTrackingRoom).length);
    this.options.logger.debug({ socket: socket.id, reason }, "disconnecting");
  }

  private countSubscriptions(socket: GatewaySocket, delta: number): void {
    this.subscriptionCount += delta;
    this.options.metrics.subscriptions.inc(delta);
    this.options.budget.count(addressOfData(socket.data), delta);
  }

  /**
   * Refuses a subscribe to a room the socket is not in yet when the
   * connection holds as many subscriptions as it may, or else when its
   * address or this node does (after releasing held recovery sessions,
   * oldest first; a client is better off on another node). The connection's
   * own limit comes first: making room may release held recovery sessions,
   * for a subscribe that will happen.
   */
  private refuseIfOverLimit(socket: GatewaySocket, room: string, acknowledge: Acknowledge | undefined): boolean {
    if (socket.rooms.has(room)) return false;
    const limit = this.options.maxSubscriptionsPerSocket;
    // The socket's own room is in `rooms` too, hence the - 1.
    if (socket.rooms.size - 1 >= limit) {
      this.refuse(socket, acknowledge, "SUBSCRIPTION_LIMIT", `Too many subscriptions on this connection (limit ${limit}); unsubscribe from one first`);
      return true;
    }
    const refusal = this.options.budget.reserve(addressOfData(socket.data));
    if (refusal === undefined) return false;
    this.options.metrics.limited.inc({ limit: refusal });
    const message =
      refusal === "subscriptions_per_node"
        ? `Too many subscriptions on this node (limit ${this.options.maxSubscriptionsPerNode}); try again later`
        : `Too many subscriptions from this address (limit ${this.options.maxSubscriptionsPerAddress}); unsubscribe from one first`;
    this.refuse(socket, acknowledge, "SUBSCRIPTION_LIMIT", message);
    return true;
  }

  private async onSubscribe(socket: GatewaySocket, payload: unknown, acknowledge: Acknowledge | undefined): Promise<void> {
    const { heads, logger, authorizer, sequencer, replays } = this.options;
    const trackingId = readTrackingId(payload);
    if (trackingId === undefined) return this.refuse(socket, acknowledge, "INVALID_TRACKING_ID");
    const since = (payload as { since?: unknown }).since;
    if (since !== undefined && !(Number.isSafeInteger(since) && (since as number) >= 0)) {
      return this.refuse(socket, acknowledge, "INVALID_SINCE");
    }
    const policySince = (payload as { policySince?: unknown }).policySince;
    if (policySince !== undefined && !(Number.isSafeInteger(policySince) && (policySince as number) >= 0)) {
      return this.refuse(socket, acknowledge, "INVALID_SINCE", "policySince must be a non-negative integer");
    }
    if (authorizer.enabled) {
      const verdict = await authorizer.authorize(trackingId, {
        handshake: (socket.handshake.auth as { token?: unknown } | undefined)?.token,
        payload: (payload as { token?: unknown }).token,
      });
      if (!verdict.ok) {
        this.options.refusals?.refused("subscription_token", { trackingId, over: "socket" }, `refused a subscribe: ${verdict.message}`);
        return this.refuse(socket, acknowledge, "UNAUTHORIZED", verdict.message);
      }
      if (!socket.connected) return;
    }
    const room = roomOf(trackingId);
    if (this.refuseIfOverLimit(socket, room, acknowledge)) return;
    let latestOffset: number | undefined;
    let latestPolicyOffset: number | undefined;
    try {
      ({ latestOffset, latestPolicyOffset } = await heads.read(trackingId));
    } catch (error) {
      logger.warn({ err: error, trackingId }, "could not read the latest offset");
      // Live delivery needs no store; a replay does.
      if (since !== undefined) return this.refuse(socket, acknowledge, "STORE_UNAVAILABLE");
    }
    if (!socket.connected) return;
    // From here to the replay's start nothing awaits, so no payment can fall between joining and reading.
    // Checked again: another subscribe of this socket may have taken the last place while the store was read.
    if (this.refuseIfOverLimit(socket, room, acknowledge)) return;
    if (!socket.rooms.has(room)) {
      sequencer.track(trackingId, latestOffset);
      void socket.join(room);
      this.countSubscriptions(socket, 1);
    }
    const session =
      since === undefined || latestOffset === undefined || replays.has(trackingId, socket.id)
        ? undefined
        : replays.start(socket, {
            trackingId,
            since: since as number,
            latestAtStart: latestOffset,
            policySince: policySince as number | undefined,
            pace: () => this.options.guard.awaitDrain(socket),
          });
    const ack = ackEnvelope(`Subscribed to trackingId: ${trackingId}`);
    // Named only once the tracking ID has policy events, so every other answer keeps its earlier shape.
    const policyHead = latestPolicyOffset !== undefined && latestPolicyOffset > 0 ? { latestPolicyOffset } : {};
    socket.emit("ack", latestOffset === undefined ? ack : { ...ack, latestOffset, ...policyHead });
    acknowledge?.(
      latestOffset === undefined
        ? { ok: true, trackingId, subscribed: true }
        : { ok: true, trackingId, subscribed: true, latestOffset, ...policyHead },
    );
    // Not awaited: the subscribe is applied once answered, and an unsubscribe must not wait for the replay it ends.
    if (session !== undefined) void replays.run(socket, session);
  }

  private onUnsubscribe(socket: GatewaySocket, payload: unknown, acknowledge: Acknowledge | undefined): void {
    const trackingId = readTrackingId(payload);
    if (trackingId === undefined) return this.refuse(socket, acknowledge, "INVALID_TRACKING_ID");
    const room = roomOf(trackingId);
    this.options.replays.end(socket.id, trackingId);
    if (socket.rooms.has(room)) {
      void socket.leave(room);
      this.countSubscriptions(socket, -1);
    }
    socket.emit("ack", ackEnvelope(`Unsubscribed from trackingId: ${trackingId}`));
    acknowledge?.({ ok: true, trackingId, subscribed: false });
  }
}

/** A listener that Socket.IO calls with the socket as `this`, so that one function serves every socket. */
function withSocket<A extends unknown[]>(
  handle: (socket: GatewaySocket, ...args: A) => void,
): (this: GatewaySocket, ...args: A) => void {
  return function (this: GatewaySocket, ...args: A): void {
    handle(this, ...args);
  };
}

/** Socket.IO passes a client's acknowledgement callback as the last argument. */
function splitAcknowledgement(args: unknown[]): [payload: unknown, acknowledge: Acknowledge | undefined] {
  const last = args[args.length - 1];
  if (typeof last === "function") return [args.length > 1 ? args[0] : undefined, last as Acknowledge];
  return [args[0], undefined];
}

function readTrackingId(payload: unknown): string | undefined {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return undefined;
  const { trackingId } = payload as { trackingId?: unknown };
  return isValidTrackingId(trackingId) ? trackingId : undefined;
}
