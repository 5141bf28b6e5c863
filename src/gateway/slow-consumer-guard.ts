import type { Server } from "socket.io";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { errorEnvelope } from "../protocol/envelopes.js";
import { bufferedBytes, type EngineConnection } from "./engine/engine-connection.js";
import type { ClientToServerEvents, GatewaySocket } from "./gateway-socket.js";
import type { ReplayRegistry } from "./replay-registry.js";
import { trackingIdOf } from "./tracking-rooms.js";
import type { ServerToClientEvents } from "../protocol/wire.js";

export interface SlowConsumerGuardOptions {
  io: Server<ClientToServerEvents, ServerToClientEvents>;
  replays: ReplayRegistry;
  /** Bytes held for one socket that does not read before it is dropped; undefined: no cap. */
  maxBufferedBytesPerSocket: number | undefined;
  /** How long a replay waits for a client to read a page before dropping it. */
  replayDrainTimeoutMs: number;
  metrics: Metrics;
  logger: Logger;
}

/**
 * A client that does not read leaves its payments in this process: in
 * Engine.IO's write buffer and in the WebSocket's send buffer. Past the cap
 * it is dropped, which frees both; it catches up by `subscribe {since}`.
 */
export class SlowConsumerGuard {
  /** Sockets already being dropped, so a backlog check does not drop them twice. */
  private readonly dropping = new WeakSet<GatewaySocket>();
  /** Rooms that received payments this turn, to check for slow consumers at its end. */
  private readonly backlogRooms = new Set<string>();

  constructor(private readonly options: SlowConsumerGuardOptions) {}

  /**
   * Backlogs are checked once per room per burst, after the burst's writes
   * were flushed (the coalescer's flush microtask was queued first), not
   * once per payment: a burst to a large room would otherwise walk every
   * member's buffers once for each payment.
   */
  scheduleCheck(room: string): void {
    if (this.options.maxBufferedBytesPerSocket === undefined || this.backlogRooms.has(room)) return;
    if (this.backlogRooms.size === 0) {
      queueMicrotask(() => {
        const rooms = [...this.backlogRooms];
        this.backlogRooms.clear();
        for (const pending of rooms) this.checkRoom(pending);
      });
    }
    this.backlogRooms.add(room);
  }

  private checkRoom(room: string): void {
    const cap = this.options.maxBufferedBytesPerSocket;
    if (cap === undefined) return;
    const { io } = this.options;
    const members = io.sockets.adapter.rooms.get(room);
    if (members === undefined) return;
    // Replaying sockets hold a page in their buffer by design; their replay paces them.
    const replaying = this.options.replays.replaying(trackingIdOf(room));
    for (const id of members) {
      if (replaying?.has(id)) continue;
      const socket = io.sockets.sockets.get(id);
      if (socket !== undefined) this.check(socket, cap);
    }
  }

  /**
   * A replay queues a page at a time; before the next one, the client must
   * have read most of what it has. One that does not within the drain
   * timeout is dropped like any slow consumer.
   */
  async awaitDrain(socket: GatewaySocket): Promise<void> {
    const cap = this.options.maxBufferedBytesPerSocket;
    const conn = socket.conn as unknown as EngineConnection;
    if (cap === undefined || bufferedBytes(conn, cap) <= cap / 2) return;
    let timer: NodeJS.Timeout | undefined;
    let onDrain: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      onDrain = resolve;
      conn.once("drain", onDrain);
      conn.once("close", onDrain);
      timer = setTimeout(resolve, this.options.replayDrainTimeoutMs);
    });
    clearTimeout(timer);
    if (onDrain !== undefined) {
      conn.off("drain", onDrain);
      conn.off("close", onDrain);
    }
    if (socket.connected) this.check(socket, cap / 2);
  }

  private check(socket: GatewaySocket, cap: number): void {
    if (this.dropping.has(socket) || bufferedBytes(socket.conn as unknown as EngineConnection, cap) <= cap) return;
    this.dropping.add(socket);
    const { metrics, logger } = this.options;
    metrics.limited.inc({ limit: "slow_consumer" });
    metrics.countError("CONNECTION_ERROR");
    logger.warn({ socket: socket.id, cap }, "dropping a client that does not read");
    this.options.replays.endAll(socket);
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
}
