import type { IncomingMessage, Server as HttpServer } from "node:http";
import { Server, type ServerOptions } from "socket.io";
import type { ConnectionLimiter } from "../limits/connection-limiter.js";
import type { RefusalLog } from "../limits/refusal-log.js";
import { SubscriptionBudget } from "../limits/subscription-budget.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { StoredPayment } from "../payment.js";
import type { StoredPolicyEvent } from "../policy-event.js";
import { paymentEnvelope, policyEnvelope } from "../protocol/envelopes.js";
import type { ServerToClientEvents } from "../protocol/wire.js";
import { addressOfData, ConnectionAdmission } from "./connection-admission.js";
import type { EngineConnection } from "./engine/engine-connection.js";
import { compactConnectionListeners } from "./engine/compact-listeners.js";
import { mergeHandshakeWrites } from "./engine/handshake-writes.js";
import { releaseOpeningRequest } from "./engine/opening-request.js";
import { LOCAL_ONLY, RecoveryAdapter, recoveryAdapter } from "./engine/recovery-adapter.js";
import { VacatedRooms } from "./engine/vacated-rooms.js";
import { WriteCoalescer } from "./engine/write-coalescer.js";
import { EventRateLimit, type EventRate } from "./event-rate-limit.js";
import { closeSocketServer, dropAllConnections } from "./gateway-drain.js";
import { HeadReads } from "./head-reads.js";
import type { ClientToServerEvents, GatewaySocket } from "./gateway-socket.js";
import { ReplayRegistry } from "./replay-registry.js";
import type { ReplayHistory } from "./replay-session.js";
import { RoomSequencer } from "./room-sequencer.js";
import { SlowConsumerGuard } from "./slow-consumer-guard.js";
import { openSubscriptions, type SubscribeAuthorizer } from "./subscribe-authorizer.js";
import { SubscriptionHandler } from "./subscription-handler.js";
import { isTrackingRoom, roomOf, trackingIdOf } from "./tracking-rooms.js";

export const SOCKET_PATH = "/ws/v1";

/** socket.io-parser's EVENT packet type. */
const EVENT = 2;

export type { ServerToClientEvents, SubscriptionResponse } from "../protocol/wire.js";
export type { ClientToServerEvents } from "./gateway-socket.js";
export { roomOf } from "./tracking-rooms.js";

export interface PaymentGatewayOptions {
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
 * The Socket.IO side of the service, composed of its parts: connection
 * admission, subscriptions, replays, the slow-consumer guard, and the
 * live emit of stored payments to their rooms, in offset order.
 */
export class PaymentGateway {
  readonly io: Server<ClientToServerEvents, ServerToClientEvents>;
  private draining = false;
  private readonly admission: ConnectionAdmission;
  private readonly replays: ReplayRegistry;
  private readonly sequencer: RoomSequencer;
  /** Rooms a recovering socket could still ask for; payments to other empty rooms are not emitted. */
  private readonly vacated: VacatedRooms;
  /** Subscriptions per address and per node, recovery sessions' included. */
  private readonly budget: SubscriptionBudget;
  private readonly guard: SlowConsumerGuard;
  private readonly subscriptions: SubscriptionHandler;
  /** Rooms whose members' writes are held until the end of this turn; see WriteCoalescer. */
  private readonly writes: WriteCoalescer;
  /** Undefined when events are not limited. */
  private readonly eventRateLimit: EventRateLimit | undefined;

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
    this.admission = new ConnectionAdmission({
      metrics: options.metrics,
      corsOrigins: options.corsOrigins,
      isDraining: () => this.draining,
      refusals: options.refusals,
      clientAddress: options.clientAddress,
      connectionLimiter: options.connectionLimiter,
    });
    this.io = new Server({
      path: SOCKET_PATH,
      serveClient: false,
      maxHttpBufferSize: options.maxHttpBufferSize,
      cors: { origin: options.corsOrigins.includes("*") ? "*" : [...options.corsOrigins] },
      allowRequest: (request, callback) => {
        const refusal = this.admission.refuseHandshake(request);
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
    const pageSize = options.replayPageSize ?? 500;
    const sequencer = (this.sequencer = new RoomSequencer({
      read: (query) => options.history.list(query),
      emit: (payment) => this.emitLive(payment),
      pageSize,
      logger: options.logger,
    }));
    this.io.of("/").adapter.on("delete-room", (room: string) => {
      if (!isTrackingRoom(room)) return;
      this.sequencer.forget(trackingIdOf(room));
      this.vacated.vacate(room);
    });
    this.replays = new ReplayRegistry({
      history: options.history,
      pageSize,
      catchUp: (trackingId, offset) => sequencer.catchUp(trackingId, offset),
      metrics: options.metrics,
      logger: options.logger,
    });
    this.guard = new SlowConsumerGuard({
      io: this.io,
      replays: this.replays,
      maxBufferedBytesPerSocket: options.maxBufferedBytesPerSocket,
      replayDrainTimeoutMs: options.replayDrainTimeoutMs ?? 30_000,
      metrics: options.metrics,
      logger: options.logger,
    });
    const subscriptions = (this.subscriptions = new SubscriptionHandler({
      metrics: options.metrics,
      logger: options.logger,
      heads: new HeadReads((trackingIds) => options.history.heads(trackingIds)),
      maxSubscriptionsPerSocket: options.maxSubscriptionsPerSocket,
      maxSubscriptionsPerNode: options.maxSubscriptionsPerNode,
      maxSubscriptionsPerAddress: options.maxSubscriptionsPerAddress,
      budget: this.budget,
      authorizer: options.authorizer ?? openSubscriptions,
      refusals: options.refusals,
      sequencer,
      replays: this.replays,
      guard: this.guard,
    }));
    const rate = options.eventRate;
    this.eventRateLimit =
      rate !== undefined && rate.perSecond > 0
        ? new EventRateLimit(rate, options.metrics, (socket, code, message, acknowledge) => subscriptions.refuse(socket, acknowledge, code, message))
        : undefined;
    this.io.on("connection", (socket) => this.onConnection(socket));
  }

  /**
   * Puts Socket.IO on the HTTP server; once, after both are built, so the wiring
   * needs no forward reference. The Engine.IO instance exists only from here on.
   */
  attach(httpServer: HttpServer): void {
    this.io.attach(httpServer);
    this.io.engine.on("connection", (conn: EngineConnection) => this.admission.opened(conn));
    // Socket.IO's own HTTP answers (long-polling) get the headers Fastify's answers get from helmet.
    this.io.engine.on("headers", (headers: Record<string, string>) => {
      headers["X-Content-Type-Options"] = "nosniff";
      headers["Cache-Control"] = "no-store";
    });
    // Emitted just before `ws` writes a WebSocket client's 101: the moment to cork.
    this.io.engine.on("headers", (_headers: unknown, request: IncomingMessage) => mergeHandshakeWrites(request));
  }

  get stats(): GatewayStats {
    return {
      sockets: this.io.sockets.sockets.size,
      rooms: this.io.sockets.adapter.rooms.size,
      subscriptions: this.subscriptions.subscriptions,
      replays: this.replays.size,
      addresses: this.admission.trackedAddresses,
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
    const replaying = this.replays.replaying(event.trackingId);
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
    const { adapter } = this.io.sockets;
    const members = adapter.rooms.get(room);
    const replaying = this.replays.replaying(payment.trackingId);
    if (members === undefined && replaying === undefined && !this.vacated.recentlyVacated(room)) return;
    // A tracking ID's usual subscriber is its room's one member: its payments go to the write coalescer as frames.
    const soleMember = replaying === undefined && members?.size === 1 && adapter instanceof RecoveryAdapter;
    if (members !== undefined && !soleMember) this.writes.hold(room, members);
    if (replaying === undefined) {
      // What `io.local.to(room).emit("payment", …)` hands the adapter, without its per-emit operators and copies.
      const packet = { type: EVENT, data: ["payment", paymentEnvelope(payment)] };
      if (soleMember) adapter.sendToSoleMember(packet, room, this.writes);
      else adapter.broadcast(packet, { rooms: new Set([room]), flags: LOCAL_ONLY });
    } else {
      // Sockets still catching up get this payment from their replay, in order.
      this.io.local.to(room).except([...replaying.keys()]).emit("payment", paymentEnvelope(payment));
      for (const session of replaying.values()) session.offer(payment);
    }
    // After the writes are queued, so that the check runs after their flush.
    if (members !== undefined) this.guard.scheduleCheck(room);
    this.options.metrics.deliveries.inc((members?.size ?? 0) - (replaying?.size ?? 0));
  }

  get connectionCount(): number {
    return this.io.engine.clientsCount;
  }

  /** Refuses new handshakes, tells every client why it is dropped, and closes the connections; see dropAllConnections. */
  async dropAll(message: string, timeoutMs: number): Promise<void> {
    this.draining = true;
    await dropAllConnections(this.io, message, timeoutMs);
  }

  async close(): Promise<void> {
    this.draining = true;
    await closeSocketServer(this.io);
  }

  private onConnection(socket: GatewaySocket): void {
    // A recovered socket's data (its address with it) came back with its session.
    if (!socket.recovered || typeof (socket.data as { address?: unknown }).address !== "string") {
      (socket.data as { address: string }).address = this.admission.addressOf(socket.request);
    }
    // The handshake has been built from the request by now, and nothing here reads it later.
    releaseOpeningRequest(socket);
    this.eventRateLimit?.attach(socket);
    this.subscriptions.attach(socket);
    // Last, so that the tables hold every listener a connection keeps.
    compactConnectionListeners(socket);
  }
}
