import type { Server as HttpServer } from "node:http";
import { Server, type Socket } from "socket.io";
import { ERRORS, type ErrorCode } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { isValidTrackingId, type StoredPayment } from "../payment.js";
import { ackEnvelope, errorEnvelope, paymentEnvelope, type AckEnvelope, type ErrorEnvelope, type PaymentEnvelope } from "./envelopes.js";

export const SOCKET_PATH = "/ws/v1";

/** What a client's Socket.IO acknowledgement callback receives for subscribe and unsubscribe. */
export type SubscriptionResponse =
  | { ok: true; trackingId: string; subscribed: boolean }
  | { ok: false; error: { code: ErrorCode; message: string } };

export interface ServerToClientEvents {
  payment: (message: PaymentEnvelope) => void;
  ack: (message: AckEnvelope) => void;
  error: (message: ErrorEnvelope) => void;
}

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

  constructor(private readonly options: PaymentGatewayOptions) {
    this.io = new Server(options.httpServer, {
      path: SOCKET_PATH,
      serveClient: false,
      maxHttpBufferSize: options.maxHttpBufferSize,
      cors: { origin: options.corsOrigins.includes("*") ? "*" : [...options.corsOrigins] },
      // Refusing handshakes while draining sends new clients to other nodes.
      allowRequest: (_request, callback) => callback(null, !this.draining),
      ...(options.recoveryWindowMs > 0
        ? { connectionStateRecovery: { maxDisconnectionDuration: options.recoveryWindowMs, skipMiddlewares: true } }
        : {}),
    });
    this.io.on("connection", (socket) => this.onConnection(socket));
  }

  /** Emits a stored payment to every local socket subscribed to its tracking ID. */
  deliver(payment: StoredPayment): void {
    const room = roomOf(payment.trackingId);
    this.io.to(room).emit("payment", paymentEnvelope(payment));
    this.options.metrics.deliveries.inc(this.io.sockets.adapter.rooms.get(room)?.size ?? 0);
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
    this.io.emit("error", errorEnvelope("CONNECTION_ERROR", message));
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
      const restored = [...socket.rooms].filter(isTrackingRoom).length;
      metrics.subscriptions.inc(restored);
      logger.debug({ socket: socket.id, restored }, "session recovered");
    }
    socket.on("subscribe", (...args) => this.onSubscribe(socket, ...splitAcknowledgement(args)));
    socket.on("unsubscribe", (...args) => this.onUnsubscribe(socket, ...splitAcknowledgement(args)));
    socket.on("disconnecting", (reason) => {
      metrics.connections.dec();
      metrics.subscriptions.dec([...socket.rooms].filter(isTrackingRoom).length);
      logger.debug({ socket: socket.id, reason }, "disconnecting");
    });
  }

  private onSubscribe(socket: GatewaySocket, payload: unknown, acknowledge: Acknowledge | undefined): void {
    const trackingId = readTrackingId(payload);
    if (trackingId === undefined) return this.refuse(socket, acknowledge, "INVALID_TRACKING_ID");
    const room = roomOf(trackingId);
    const alreadySubscribed = socket.rooms.has(room);
    if (!alreadySubscribed) {
      const limit = this.options.maxSubscriptionsPerSocket;
      // The socket's own room is in `rooms` too, hence the - 1.
      if (socket.rooms.size - 1 >= limit) {
        return this.refuse(
          socket,
          acknowledge,
          "SUBSCRIPTION_LIMIT",
          `Too many subscriptions on this connection (limit ${limit}); unsubscribe from one first`,
        );
      }
      void socket.join(room);
      this.options.metrics.subscriptions.inc();
    }
    socket.emit("ack", ackEnvelope(`Subscribed to trackingId: ${trackingId}`));
    acknowledge?.({ ok: true, trackingId, subscribed: true });
  }

  private onUnsubscribe(socket: GatewaySocket, payload: unknown, acknowledge: Acknowledge | undefined): void {
    const trackingId = readTrackingId(payload);
    if (trackingId === undefined) return this.refuse(socket, acknowledge, "INVALID_TRACKING_ID");
    const room = roomOf(trackingId);
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
