import type { IncomingMessage, Server as HttpServer } from "node:http";
import { Server, type ServerOptions, type Socket } from "socket.io";
import { ERRORS, type ErrorCode } from "../errors.js";
import type { ConnectionLimiter } from "../limits/connection-limiter.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { isValidTrackingId, type StoredPayment } from "../payment.js";
import type { StoredPolicyEvent } from "../policy-event.js";
import type { ServerToClientEvents, SubscriptionResponse } from "../protocol/wire.js";
import { ackEnvelope, errorEnvelope, paymentEnvelope, policyEnvelope } from "../protocol/envelopes.js";
import { ReplaySession, type ReplayHistory } from "./replay-session.js";
import { RoomSequencer } from "./room-sequencer.js";
import { bufferedBytes, type EngineConnection } from "./engine/engine-connection.js";
import { WriteCoalescer } from "./engine/write-coalescer.js";
import { VacatedRooms } from "./engine/vacated-rooms.js";
import { releaseOpeningRequest } from "./engine/opening-request.js";
import { mergeHandshakeWrites } from "./engine/handshake-writes.js";
import { RecoveryAdapter, recoveryAdapter } from "./engine/recovery-adapter.js";
import { SubscriptionBudget } from "../limits/subscription-budget.js";
import type { RefusalLog } from "../limits/refusal-log.js";
import { EventRateLimit, type EventRate } from "./event-rate-limit.js";
import { openSubscriptions, type SubscribeAuthorizer } from "./subscribe-authorizer.js";

export const SOCKET_PATH = "/ws/v1";

export type { ServerToClientEvents, SubscriptionResponse } from "../protocol/wire.js";

// Client payloads are untrusted, so handlers take what arrives and check it.
export interface ClientToServerEvents {
  subscribe: (...args: unknown[]) => void;
  unsubscribe: (...args: unknown[]) => void;
}

type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents>;
type Acknowledge = (response: SubscriptionResponse) => void;

export interface PaymentGatewayOptions {
  httpServer: HttpServer;
  logger: Logger;
  metrics: Metrics;
  /** @default 100 */
  maxSubscriptionsPerSocket: number;
  /** Largest message a client may send; a bigger one closes only that socket. */
  maxHttpBufferSize: number;
  /** How long a dropped client's rooms and missed payments are kept; 0 turns recovery off. */
  recoveryWindowMs: number;
  /** Most broadcasts kept for recovery, whatever their age. */
  recoveryMaxPackets: number;
  /** Allowed browser origins; `*` allows all. */
  corsOrigins: readonly string[];
  /** Where `subscribe {since}` reads what a client missed. */
  history: ReplayHistory;
  /** Payments read from the store per replay step. @default 500 */
  replayPageSize?: number;
  /** A cluster adapter (Redis); the in-memory one when unset. */
  adapter?: ServerOptions["adapter"];
  /** Who may watch which tracking ID. @default open to all, as the public API is */
  authorizer?: SubscribeAuthorizer;
  /** Subscriptions all sockets of this node may hold together, recovery sessions' included. @default unlimited */
  maxSubscriptionsPerNode?: number;
  /** Subscriptions the sockets of one client address may hold together, recovery sessions' included; 0 for no limit. @default 0 */
  maxSubscriptionsPerAddress?: number;
  /** Dropped sessions kept for recovery at once; past it the oldest is released. @default unlimited */
  maxRecoverySessions?: number;
  /** Where refused subscription tokens and WebSocket origins are reported. */
  refusals?: RefusalLog;
  /** The client's address for a handshake request (X-Forwarded-For from trusted proxies only). */
  clientAddress?: (request: IncomingMessage) => string;
  /** Per-address connection limits; none when absent. */
  connectionLimiter?: ConnectionLimiter;
  /** Event rate per socket: sustained per second, burst, and refusals tolerated before a disconnect. 0 per second: no limit. */
  eventRate?: EventRate;
  /** Bytes held for one socket that does not read before it is dropped. @default unlimited */
  maxBufferedBytesPerSocket?: number;
  /** How long a replay waits for a client to read a page before dropping it. @default 30000 */
  replayDrainTimeoutMs?: number;
}

/** Counts of the gateway's per-connection state, for operators and for leak tests. */
export interface GatewayStats {
  sockets: number;
  rooms: number;
  subscriptions: number;
  replays: number;
  addresses: number;
  /** Dropped sessions kept for recovery. */
  recoverySessions: number;
  /** Subscriptions counted against the caps: live ones and those recovery sessions hold. */
  countedSubscriptions: number;
  /** Address groups with subscriptions counted. */
  subscribedAddresses: number;
}

/**
 * Tracking-ID rooms carry a prefix so that a tracking ID can never name a
 * socket's own private room (Socket.IO puts every socket in a room named by
 * its id).
 */
export function roomOf(trackingId: string): string {
  return `t:${trackingId}`;
}

function isTrackingRoom(room: string): boolean {
  return room.startsWith("t:");
}

/**
 * The Socket.IO side of the service: subscribe and unsubscribe with the
 * spec's acks and errors, rooms per tracking ID, and the payment emit.
 */
export class PaymentGateway {
  readonly io: Server<ClientToServerEvents, ServerToClientEvents>;
  private draining = false;
  /** Replays in progress: tracking ID → socket id → session. */
  private readonly replays = new Map<string, Map<string, ReplaySession>>();
  private readonly sequencer: RoomSequencer;
  /** Rooms a recovering socket could still ask for; payments to other empty rooms are not emitted. */
  private readonly vacated: VacatedRooms;
  private subscriptionCount = 0;
  /** Subscriptions per address and per node, recovery sessions' included. */
  private readonly budget: SubscriptionBudget;
  private readonly authorizer: SubscribeAuthorizer;
  /** Sockets already being dropped, so a backlog check does not drop them twice. */
  private readonly dropping = new WeakSet<GatewaySocket>();
  /** Rooms whose members' writes are held until the end of this turn; see {@link holdWrites}. */
  private readonly writes: WriteCoalescer;
  /** Rooms that received payments this turn, to check for slow consumers at its end. */
  private readonly backlogRooms = new Set<string>();
  /** Each open connection's client address, counted down in the limiter when it closes. */
  private readonly connectionAddresses = new WeakMap<EngineConnection, string>();
  /**
   * One listener for every connection's close (Engine.IO emits it once, with the
   * connection as `this`): a closure and a `once` wrapper per connection cost
   * about 400 bytes each.
   */
  private readonly onEngineClose: (this: EngineConnection) => void;
  /** Undefined when events are not limited. */
  private readonly eventRateLimit: EventRateLimit | undefined;
  /** Every socket's listeners, the same functions for all: closures per socket cost about 200 bytes. */
  private readonly socketListeners = {
    subscribe: withSocket((socket, ...args: unknown[]) => void this.onSubscribe(socket, ...splitAcknowledgement(args))),
    unsubscribe: withSocket((socket, ...args: unknown[]) => this.onUnsubscribe(socket, ...splitAcknowledgement(args))),
    disconnecting: withSocket((socket, reason: string) => this.onDisconnecting(socket, reason)),
  };

  constructor(private readonly options: PaymentGatewayOptions) {
    // Recovery is in memory, in our own adapter. A cluster adapter keeps no
    // sessions, and with recovery on Socket.IO sends every socket.emit (each
    // ack, each replayed payment) as a broadcast, which a cluster adapter
    // publishes to every other node or worker: all cost, no recovery.
    const recoveryWindowMs = options.adapter === undefined ? options.recoveryWindowMs : 0;
    this.budget = new SubscriptionBudget({
      perAddress: options.maxSubscriptionsPerAddress ?? 0,
      perNode: options.maxSubscriptionsPerNode,
      maxHeldSessions: options.maxRecoverySessions ?? Number.POSITIVE_INFINITY,
      release: (pid) => {
        const adapter = this.io.of("/").adapter;
        if (adapter instanceof RecoveryAdapter) adapter.discardSession(pid);
        options.metrics.limited.inc({ limit: "recovery_session_released" });
        options.metrics.recoverySessions.set(this.budget.heldSessions);
      },
    });
    const recoverySessions = {
      held: (pid: string, rooms: readonly string[], data: unknown) => {
        this.budget.hold(pid, addressOfData(data), rooms.filter(isTrackingRoom).length);
        options.metrics.recoverySessions.set(this.budget.heldSessions);
      },
      released: (pid: string) => {
        this.budget.unhold(pid);
        options.metrics.recoverySessions.set(this.budget.heldSessions);
      },
    };
    this.io = new Server(options.httpServer, {
      path: SOCKET_PATH,
      serveClient: false,
      maxHttpBufferSize: options.maxHttpBufferSize,
      cors: { origin: options.corsOrigins.includes("*") ? "*" : [...options.corsOrigins] },
      allowRequest: (request, callback) => {
        const refusal = this.refuseHandshake(request);
        callback(refusal ?? null, refusal === undefined);
      },
      // With recovery on, our own recovery adapter rather than Socket.IO's stock one (see it for why).
      adapter:
        options.adapter ??
        (recoveryWindowMs > 0 ? recoveryAdapter({ maxPackets: options.recoveryMaxPackets, sessions: recoverySessions }) : undefined),
      ...(recoveryWindowMs > 0
        ? { connectionStateRecovery: { maxDisconnectionDuration: recoveryWindowMs, skipMiddlewares: true } }
        : {}),
    });
    this.writes = new WriteCoalescer(this.io);
    this.vacated = new VacatedRooms(recoveryWindowMs);
    this.sequencer = new RoomSequencer({
      read: (query) => options.history.list(query),
      emit: (payment) => this.emitLive(payment),
      pageSize: options.replayPageSize ?? 500,
      logger: options.logger,
    });
    this.io.of("/").adapter.on("delete-room", (room: string) => {
      if (!isTrackingRoom(room)) return;
      this.sequencer.forget(room.slice(2));
      this.vacated.vacate(room);
    });
    this.authorizer = options.authorizer ?? openSubscriptions;
    const rate = options.eventRate;
    this.eventRateLimit =
      rate !== undefined && rate.perSecond > 0
        ? new EventRateLimit(rate, options.metrics, (socket, code, message, acknowledge) => this.refuse(socket, acknowledge, code, message))
        : undefined;
    const { connectionAddresses } = this;
    this.onEngineClose = function (this: EngineConnection) {
      const address = connectionAddresses.get(this);
      if (address === undefined) return;
      connectionAddresses.delete(this);
      options.connectionLimiter?.closed(address);
    };
    this.io.engine.on("connection", (conn: EngineConnection) => this.onEngineConnection(conn));
    // Socket.IO's own HTTP answers (long-polling) get the headers Fastify's answers get from helmet.
    this.io.engine.on("headers", (headers: Record<string, string>) => {
      headers["X-Content-Type-Options"] = "nosniff";
      headers["Cache-Control"] = "no-store";
    });
    // Emitted just before `ws` writes a WebSocket client's 101: the moment to cork.
    this.io.engine.on("headers", (_headers: unknown, request: IncomingMessage) => mergeHandshakeWrites(request));
    this.io.on("connection", (socket) => this.onConnection(socket));
  }

  /** Why a handshake is refused, or undefined to let it in. Refusing while draining sends new clients to other nodes. */
  private refuseHandshake(request: IncomingMessage): string | undefined {
    if (this.draining) return "The server is shutting down";
    // Socket.IO's cors option shapes polling answers only; a WebSocket upgrade from another page's origin would open anyway.
    const origin = request.headers.origin;
    const allowed = this.options.corsOrigins;
    if (origin !== undefined && !allowed.includes("*") && !allowed.includes(origin) && !isSameOrigin(origin, request)) {
      this.options.metrics.limited.inc({ limit: "websocket_origin" });
      this.options.metrics.countError("CONNECTION_ERROR");
      this.options.refusals?.refused("websocket_origin", { origin: origin.slice(0, 200) }, "refused a handshake from an origin not in CORS_ORIGINS");
      return "This origin is not allowed";
    }
    const limiter = this.options.connectionLimiter;
    if (limiter === undefined) return undefined;
    const address = this.addressOf(request);
    const refusal = limiter.admit(address);
    if (refusal === undefined) return undefined;
    this.options.metrics.limited.inc({ limit: refusal });
    this.options.metrics.countError("CONNECTION_LIMIT");
    return refusal === "connections_per_ip" ? ERRORS.CONNECTION_LIMIT.message : "Too many new connections from this address";
  }

  private addressOf(request: IncomingMessage): string {
    return this.options.clientAddress?.(request) ?? request.socket.remoteAddress ?? "unknown";
  }

  private onEngineConnection(conn: EngineConnection): void {
    const limiter = this.options.connectionLimiter;
    if (limiter === undefined) return;
    // Engine.IO's connection event comes with the request; it is let go only after Socket.IO's connect.
    if (conn.request === null) return;
    const address = this.addressOf(conn.request);
    const withinLimit = limiter.opened(address);
    this.connectionAddresses.set(conn, address);
    conn.on("close", this.onEngineClose);
    // Two handshakes of one address can both pass `admit` before either is counted; the later one goes.
    if (!withinLimit) {
      this.options.metrics.limited.inc({ limit: "connections_per_ip" });
      this.options.metrics.countError("CONNECTION_LIMIT");
      conn.close();
    }
  }

  get stats(): GatewayStats {
    return {
      sockets: this.io.sockets.sockets.size,
      rooms: this.io.sockets.adapter.rooms.size,
      subscriptions: this.subscriptionCount,
      replays: this.replays.size,
      addresses: this.options.connectionLimiter?.trackedAddresses ?? 0,
      recoverySessions: this.budget.heldSessions,
      countedSubscriptions: this.budget.subscriptions,
      subscribedAddresses: this.budget.trackedAddresses,
    };
  }


  /**
   * Emits a stored payment to every local socket subscribed to its tracking
   * ID, whichever node committed it: in offset order and once per offset.
   */
  sendToRoom(payment: StoredPayment): void {
    this.sequencer.sequence(payment);
  }

  /**
   * Emits a stored policy lifecycle event to the tracking ID's subscribers.
   * A socket that is replaying gets it from its replay, in its place among
   * the payments; the others at once. It is a room broadcast, so with a
   * cluster adapter the other nodes' subscribers get it too.
   */
  sendPolicyToRoom(event: StoredPolicyEvent): void {
    const room = roomOf(event.trackingId);
    const members = this.io.sockets.adapter.rooms.get(room);
    const replaying = this.replays.get(event.trackingId);
    const envelope = policyEnvelope(event);
    if (replaying === undefined) {
      this.io.to(room).emit("policy", envelope);
    } else {
      this.io.to(room).except([...replaying.keys()]).emit("policy", envelope);
      for (const session of replaying.values()) session.offerPolicy(event);
    }
    this.options.metrics.policyDeliveries.inc((members?.size ?? 0) - (replaying?.size ?? 0));
  }

  /**
   * Brings every local room up to the store's latest offset, for after the
   * cluster link was down and other nodes' payments did not arrive.
   */
  async resync(): Promise<void> {
    for (const trackingId of this.sequencer.trackedIds()) {
      try {
        await this.sequencer.catchUp(trackingId, await this.options.history.latestOffset(trackingId));
      } catch (error) {
        this.options.logger.warn({ err: error, trackingId }, "resync failed for a room");
      }
    }
  }

  private emitLive(payment: StoredPayment): void {
    const room = roomOf(payment.trackingId);
    const members = this.io.sockets.adapter.rooms.get(room);
    const replaying = this.replays.get(payment.trackingId);
    if (members === undefined && replaying === undefined && !this.vacated.recentlyVacated(room)) return;
    this.writes.hold(room);
    this.scheduleBacklogCheck(room);
    if (replaying === undefined) {
      this.io.local.to(room).emit("payment", paymentEnvelope(payment));
    } else {
      // Sockets still catching up get this payment from their replay, in order.
      this.io.local.to(room).except([...replaying.keys()]).emit("payment", paymentEnvelope(payment));
      for (const session of replaying.values()) session.offer(payment);
    }
    this.options.metrics.deliveries.inc((members?.size ?? 0) - (replaying?.size ?? 0));
  }

  /**
   * A client that does not read leaves its payments in this process: in
   * Engine.IO's write buffer and in the WebSocket's send buffer. Past the cap
   * it is dropped, which frees both; it catches up by `subscribe {since}`.
   * Backlogs are checked once per room per burst, after the burst's writes
   * were flushed (the coalescer's flush microtask was queued first), not
   * once per payment: a burst to a large room would otherwise walk every
   * member's buffers once for each payment.
   */
  private scheduleBacklogCheck(room: string): void {
    if (this.options.maxBufferedBytesPerSocket === undefined || this.backlogRooms.has(room)) return;
    if (this.backlogRooms.size === 0) {
      queueMicrotask(() => {
        const rooms = [...this.backlogRooms];
        this.backlogRooms.clear();
        for (const pending of rooms) this.checkBacklogs(pending);
      });
    }
    this.backlogRooms.add(room);
  }

  private checkBacklogs(room: string): void {
    const cap = this.options.maxBufferedBytesPerSocket;
    if (cap === undefined) return;
    const members = this.io.sockets.adapter.rooms.get(room);
    if (members === undefined) return;
    // Replaying sockets hold a page in their buffer by design; their replay paces them.
    const replaying = this.replays.get(room.slice(2));
    for (const id of members) {
      if (replaying?.has(id)) continue;
      const socket = this.io.sockets.sockets.get(id);
      if (socket !== undefined) this.checkBacklog(socket, cap);
    }
  }

  /**
   * A replay queues a page at a time; before the next one, the client must
   * have read most of what it has. One that does not within the drain
   * timeout is dropped like any slow consumer.
   */
  private async awaitDrain(socket: GatewaySocket): Promise<void> {
    const cap = this.options.maxBufferedBytesPerSocket;
    const conn = socket.conn as unknown as EngineConnection;
    if (cap === undefined || bufferedBytes(conn, cap) <= cap / 2) return;
    let timer: NodeJS.Timeout | undefined;
    let onDrain: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      onDrain = resolve;
      conn.once("drain", onDrain);
      conn.once("close", onDrain);
      timer = setTimeout(resolve, this.options.replayDrainTimeoutMs ?? 30_000);
    });
    clearTimeout(timer);
    if (onDrain !== undefined) {
      conn.off("drain", onDrain);
      conn.off("close", onDrain);
    }
    if (socket.connected) this.checkBacklog(socket, cap / 2);
  }

  private checkBacklog(socket: GatewaySocket, cap: number): void {
    if (this.dropping.has(socket) || bufferedBytes(socket.conn as unknown as EngineConnection, cap) <= cap) return;
    this.dropping.add(socket);
    const { metrics, logger } = this.options;
    metrics.limited.inc({ limit: "slow_consumer" });
    metrics.countError("CONNECTION_ERROR");
    logger.warn({ socket: socket.id, cap }, "dropping a client that does not read");
    for (const room of socket.rooms) if (isTrackingRoom(room)) this.endReplay(socket.id, room.slice(2));
    // Queued behind what it has not read, so it arrives only if the client resumes before the close.
    socket.emit(
      "error",
      errorEnvelope("CONNECTION_ERROR", "The connection fell too far behind; reconnect and subscribe with since to catch up"),
    );
    const conn = socket.conn as unknown as EngineConnection;
    const ws = conn.transport.socket;
    // A graceful close would wait behind the unread backlog; terminating frees it now.
    if (conn.transport.name === "websocket" && typeof ws?.terminate === "function") ws.terminate();
    else conn.close(true);
  }

  get connectionCount(): number {
    return this.io.engine.clientsCount;
  }

  /**
   * Tells every client why it is being dropped (`CONNECTION_ERROR`), then
   * closes the transports without a Socket.IO disconnect packet: the stock
   * client treats that as a transport loss and reconnects on its own, to this
   * node after a restart or to another one behind the load balancer.
   * Resolves when every connection has closed or the timeout has passed.
   */
  async dropAll(message: string, timeoutMs: number): Promise<void> {
    this.draining = true;
    this.io.local.emit("error", errorEnvelope("CONNECTION_ERROR", message));
    const clients = [...this.io.sockets.sockets.values()].map((socket) => socket.conn);
    const closed = clients.map(
      (conn) =>
        new Promise<void>((resolve) => {
          if (conn.readyState === "closed") return resolve();
          conn.once("close", () => resolve());
          // Without `discard`, Engine.IO flushes the error envelope first.
          conn.close();
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.all(closed), timeout]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.draining = true;
    await new Promise<void>((resolve) => {
      // Server.close also closes the HTTP server, which its owner closes itself.
      void this.io.close(() => resolve());
    });
  }

  private onConnection(socket: GatewaySocket): void {
    const { metrics, logger } = this.options;
    // A recovered socket's data (its address with it) came back with its session.
    if (!socket.recovered || typeof (socket.data as { address?: unknown }).address !== "string") {
      (socket.data as { address: string }).address = this.addressOf(socket.request);
    }
    // The handshake has been built from the request by now, and nothing here reads it later.
    releaseOpeningRequest(socket);
    metrics.connections.inc();
    if (socket.recovered) {
      const restored = [...socket.rooms].filter(isTrackingRoom);
      // The missed packets were recorded in order; the room continues from here.
      for (const room of restored) this.sequencer.track(room.slice(2), undefined);
      this.countSubscriptions(socket, restored.length);
      logger.debug({ socket: socket.id, restored: restored.length }, "session recovered");
    }
    this.eventRateLimit?.attach(socket);
    socket.on("subscribe", this.socketListeners.subscribe);
    socket.on("unsubscribe", this.socketListeners.unsubscribe);
    socket.on("disconnecting", this.socketListeners.disconnecting);
  }

  private onDisconnecting(socket: GatewaySocket, reason: string): void {
    for (const room of socket.rooms) if (isTrackingRoom(room)) this.endReplay(socket.id, room.slice(2));
    this.options.metrics.connections.dec();
    this.countSubscriptions(socket, -[...socket.rooms].filter(isTrackingRoom).length);
    this.options.logger.debug({ socket: socket.id, reason }, "disconnecting");
  }

  private countSubscriptions(socket: GatewaySocket, delta: number): void {
    this.subscriptionCount += delta;
    this.options.metrics.subscriptions.inc(delta);
    this.budget.count(addressOfData(socket.data), delta);
  }

  /**
   * Refuses when the socket's address, or this node, holds as many
   * subscriptions as it may (after releasing held recovery sessions, oldest
   * first); a client is better off on another node.
   */
  private refuseIfNoRoom(socket: GatewaySocket, acknowledge: Acknowledge | undefined): boolean {
    const refusal = this.budget.reserve(addressOfData(socket.data));
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
    if (this.authorizer.enabled) {
      const verdict = await this.authorizer.authorize(trackingId, {
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
    const limit = this.options.maxSubscriptionsPerSocket;
    // The socket's own room is in `rooms` too, hence the - 1.
    if (!socket.rooms.has(room) && socket.rooms.size - 1 >= limit) {
      return this.refuse(
        socket,
        acknowledge,
        "SUBSCRIPTION_LIMIT",
        `Too many subscriptions on this connection (limit ${limit}); unsubscribe from one first`,
      );
    }
    // After the connection's own limit: making room may release held recovery sessions, for a subscribe that will happen.
    if (!socket.rooms.has(room) && this.refuseIfNoRoom(socket, acknowledge)) return;
    let latestOffset: number | undefined;
    let latestPolicyOffset: number | undefined;
    try {
      [latestOffset, latestPolicyOffset] = await Promise.all([
        this.options.history.latestOffset(trackingId),
        this.options.history.latestPolicyOffset(trackingId),
      ]);
    } catch (error) {
      this.options.logger.warn({ err: error, trackingId }, "could not read the latest offset");
      // Live delivery needs no store; a replay does.
      if (since !== undefined) return this.refuse(socket, acknowledge, "STORE_UNAVAILABLE");
    }
    if (!socket.connected) return;
    // From here to the replay's start nothing awaits, so no payment can fall between joining and reading.
    if (!socket.rooms.has(room)) {
      if (socket.rooms.size - 1 >= limit) return this.refuse(socket, acknowledge, "SUBSCRIPTION_LIMIT");
      if (this.refuseIfNoRoom(socket, acknowledge)) return;
      this.sequencer.track(trackingId, latestOffset);
      void socket.join(room);
      this.countSubscriptions(socket, 1);
    }
    const session =
      since === undefined || latestOffset === undefined || this.replays.get(trackingId)?.has(socket.id)
        ? undefined
        : this.startReplay(socket, trackingId, since as number, latestOffset, policySince as number | undefined);
    const ack = ackEnvelope(`Subscribed to trackingId: ${trackingId}`);
    // Named only once the tracking ID has policy events, so every other answer keeps its earlier shape.
    const policyHead = latestPolicyOffset !== undefined && latestPolicyOffset > 0 ? { latestPolicyOffset } : {};
    socket.emit("ack", latestOffset === undefined ? ack : { ...ack, latestOffset, ...policyHead });
    acknowledge?.(
      latestOffset === undefined
        ? { ok: true, trackingId, subscribed: true }
        : { ok: true, trackingId, subscribed: true, latestOffset, ...policyHead },
    );
    if (session !== undefined) await this.runReplay(socket, session);
  }

  private startReplay(
    socket: GatewaySocket,
    trackingId: string,
    since: number,
    latestAtStart: number,
    policySince: number | undefined,
  ): ReplaySession {
    const session = new ReplaySession({
      trackingId,
      since,
      policySince,
      sendPolicy: (event) => socket.emit("policy", policyEnvelope(event)),
      latestAtStart,
      history: this.options.history,
      pageSize: this.options.replayPageSize ?? 500,
      send: (payment) => socket.emit("payment", paymentEnvelope(payment)),
      pace: () => this.awaitDrain(socket),
      onTruncated: (firstAvailable) => {
        this.options.metrics.countError("REPLAY_TRUNCATED");
        const envelope = errorEnvelope(
          "REPLAY_TRUNCATED",
          `Payments of ${trackingId} after offset ${since} up to ${firstAvailable - 1} are no longer retained; replaying from offset ${firstAvailable}`,
        );
        // Beside the spec's code and message: which replay was cut, and where it resumes.
        socket.emit("error", { ...envelope, data: { ...envelope.data, trackingId, firstAvailableOffset: firstAvailable } });
      },
      catchUp: (offset) => this.sequencer.catchUp(trackingId, offset),
      onCaughtUp: () => this.endReplay(socket.id, trackingId),
    });
    let sessions = this.replays.get(trackingId);
    if (sessions === undefined) this.replays.set(trackingId, (sessions = new Map()));
    sessions.set(socket.id, session);
    this.options.metrics.replays.inc();
    return session;
  }

  private async runReplay(socket: GatewaySocket, session: ReplaySession): Promise<void> {
    try {
      await session.run();
    } catch (error) {
      // The client cannot be brought up to date; dropping it makes it reconnect and ask again.
      this.options.logger.error({ err: error, trackingId: session.trackingId }, "replay failed");
      this.endReplay(socket.id, session.trackingId);
      socket.emit("error", errorEnvelope("CONNECTION_ERROR", "Replay failed; reconnect to continue"));
      socket.conn.close();
    }
  }

  private endReplay(socketId: string, trackingId: string): void {
    const sessions = this.replays.get(trackingId);
    const session = sessions?.get(socketId);
    if (session === undefined || sessions === undefined) return;
    session.cancel();
    sessions.delete(socketId);
    if (sessions.size === 0) this.replays.delete(trackingId);
    this.options.metrics.replays.dec();
  }

  private onUnsubscribe(socket: GatewaySocket, payload: unknown, acknowledge: Acknowledge | undefined): void {
    const trackingId = readTrackingId(payload);
    if (trackingId === undefined) return this.refuse(socket, acknowledge, "INVALID_TRACKING_ID");
    const room = roomOf(trackingId);
    this.endReplay(socket.id, trackingId);
    if (socket.rooms.has(room)) {
      void socket.leave(room);
      this.countSubscriptions(socket, -1);
    }
    socket.emit("ack", ackEnvelope(`Unsubscribed from trackingId: ${trackingId}`));
    acknowledge?.({ ok: true, trackingId, subscribed: false });
  }

  private refuse(
    socket: GatewaySocket,
    acknowledge: Acknowledge | undefined,
    code: ErrorCode,
    message: string = ERRORS[code].message,
  ): void {
    this.options.metrics.countError(code);
    socket.emit("error", errorEnvelope(code, message));
    acknowledge?.({ ok: false, error: { code, message } });
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

/** The live payments page served by this server talks to its own origin; a browser sets Host to what it connected to. */
function isSameOrigin(origin: string, request: IncomingMessage): boolean {
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** The client address a socket (or its kept session) was counted under. */
function addressOfData(data: unknown): string {
  const address = (data as { address?: unknown } | undefined)?.address;
  return typeof address === "string" ? address : "unknown";
}

function readTrackingId(payload: unknown): string | undefined {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return undefined;
  const { trackingId } = payload as { trackingId?: unknown };
  return isValidTrackingId(trackingId) ? trackingId : undefined;
}
