import type { Server as HttpServer } from "node:http";
import { Server, type ServerOptions, type Socket } from "socket.io";
import { ERRORS, type ErrorCode } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { isValidTrackingId, type StoredPayment } from "../payment.js";
import type { ServerToClientEvents, SubscriptionResponse } from "../protocol/wire.js";
import { ackEnvelope, errorEnvelope, paymentEnvelope } from "./envelopes.js";
import { ReplaySession, type ReplayHistory } from "./replay-session.js";
import { RoomSequencer } from "./room-sequencer.js";

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
  /** Allowed browser origins; `*` allows all. */
  corsOrigins: readonly string[];
  /** Where `subscribe {since}` reads what a client missed. */
  history: ReplayHistory;
  /** Payments read from the store per replay step. @default 500 */
  replayPageSize?: number;
  /** A cluster adapter (Redis); the in-memory one when unset. */
  adapter?: ServerOptions["adapter"];
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

  constructor(private readonly options: PaymentGatewayOptions) {
    this.io = new Server(options.httpServer, {
      path: SOCKET_PATH,
      serveClient: false,
      maxHttpBufferSize: options.maxHttpBufferSize,
      cors: { origin: options.corsOrigins.includes("*") ? "*" : [...options.corsOrigins] },
      // Refusing handshakes while draining sends new clients to other nodes.
      allowRequest: (_request, callback) => callback(null, !this.draining),
      ...(options.adapter === undefined ? {} : { adapter: options.adapter }),
      ...(options.recoveryWindowMs > 0
        ? { connectionStateRecovery: { maxDisconnectionDuration: options.recoveryWindowMs, skipMiddlewares: true } }
        : {}),
    });
    this.sequencer = new RoomSequencer({
      read: (query) => options.history.list(query),
      emit: (payment) => this.emitLive(payment),
      pageSize: options.replayPageSize ?? 500,
      logger: options.logger,
    });
    this.io.of("/").adapter.on("delete-room", (room: string) => {
      if (isTrackingRoom(room)) this.sequencer.forget(room.slice(2));
    });
    this.io.on("connection", (socket) => this.onConnection(socket));
  }

  /**
   * Emits a stored payment to every local socket subscribed to its tracking
   * ID, whichever node committed it: in offset order and once per offset.
   */
  deliver(payment: StoredPayment): void {
    this.sequencer.deliver(payment);
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
    const replaying = this.replays.get(payment.trackingId);
    if (replaying === undefined) {
      this.io.local.to(room).emit("payment", paymentEnvelope(payment));
    } else {
      // Sockets still catching up get this payment from their replay, in order.
      this.io.local.to(room).except([...replaying.keys()]).emit("payment", paymentEnvelope(payment));
      for (const session of replaying.values()) session.offer(payment);
    }
    this.options.metrics.deliveries.inc((this.io.sockets.adapter.rooms.get(room)?.size ?? 0) - (replaying?.size ?? 0));
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
    metrics.connections.inc();
    if (socket.recovered) {
      const restored = [...socket.rooms].filter(isTrackingRoom);
      // The missed packets were recorded in order; the room continues from here.
      for (const room of restored) this.sequencer.track(room.slice(2), undefined);
      metrics.subscriptions.inc(restored.length);
      logger.debug({ socket: socket.id, restored: restored.length }, "session recovered");
    }
    socket.on("subscribe", (...args) => void this.onSubscribe(socket, ...splitAcknowledgement(args)));
    socket.on("unsubscribe", (...args) => this.onUnsubscribe(socket, ...splitAcknowledgement(args)));
    socket.on("disconnecting", (reason) => {
      for (const room of socket.rooms) if (isTrackingRoom(room)) this.endReplay(socket.id, room.slice(2));
      metrics.connections.dec();
      metrics.subscriptions.dec([...socket.rooms].filter(isTrackingRoom).length);
      logger.debug({ socket: socket.id, reason }, "disconnecting");
    });
  }

  private async onSubscribe(socket: GatewaySocket, payload: unknown, acknowledge: Acknowledge | undefined): Promise<void> {
    const trackingId = readTrackingId(payload);
    if (trackingId === undefined) return this.refuse(socket, acknowledge, "INVALID_TRACKING_ID");
    const since = (payload as { since?: unknown }).since;
    if (since !== undefined && !(Number.isSafeInteger(since) && (since as number) >= 0)) {
      return this.refuse(socket, acknowledge, "INVALID_SINCE");
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
    let latestOffset: number | undefined;
    try {
      latestOffset = await this.options.history.latestOffset(trackingId);
    } catch (error) {
      this.options.logger.warn({ err: error, trackingId }, "could not read the latest offset");
      // Live delivery needs no store; a replay does.
      if (since !== undefined) return this.refuse(socket, acknowledge, "STORE_UNAVAILABLE");
    }
    if (!socket.connected) return;
    // From here to the replay's start nothing awaits, so no payment can fall between joining and reading.
    if (!socket.rooms.has(room)) {
      if (socket.rooms.size - 1 >= limit) return this.refuse(socket, acknowledge, "SUBSCRIPTION_LIMIT");
      this.sequencer.track(trackingId, latestOffset);
      void socket.join(room);
      this.options.metrics.subscriptions.inc();
    }
    const session =
      since === undefined || latestOffset === undefined || this.replays.get(trackingId)?.has(socket.id)
        ? undefined
        : this.startReplay(socket, trackingId, since as number, latestOffset);
    const ack = ackEnvelope(`Subscribed to trackingId: ${trackingId}`);
    socket.emit("ack", latestOffset === undefined ? ack : { ...ack, latestOffset });
    acknowledge?.(
      latestOffset === undefined ? { ok: true, trackingId, subscribed: true } : { ok: true, trackingId, subscribed: true, latestOffset },
    );
    if (session !== undefined) await this.runReplay(socket, session);
  }

  private startReplay(socket: GatewaySocket, trackingId: string, since: number, latestAtStart: number): ReplaySession {
    const session = new ReplaySession({
      trackingId,
      since,
      latestAtStart,
      history: this.options.history,
      pageSize: this.options.replayPageSize ?? 500,
      send: (payment) => socket.emit("payment", paymentEnvelope(payment)),
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
      this.options.metrics.subscriptions.dec();
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
