// Relies on Engine.IO's `transport.writable` (false queues into `writeBuffer`), `flush()`, the ws `_socket`, and Socket.IO's
// `sockets.adapter.rooms` / `sockets.sockets` maps; test/unit/engine-internals.test.ts checks them.
import { idleForDirectWrite } from "./direct-write.js";
import type { EngineConnection } from "./engine-connection.js";

/** What the coalescer reads of the Socket.IO server: the room members and their connections. */
interface LocalRooms {
  sockets: {
    adapter: { rooms: Map<string, Set<string>> };
    sockets: Map<string, { conn: unknown }>;
  };
}

/** Writes prepared WebSocket frames to a connection; see {@link WriteCoalescer.writeFrame}. */
export interface FrameWriter {
  writeFrame(conn: EngineConnection, frame: Buffer): boolean;
}

/**
 * Holds a room's WebSocket writes during a group commit's deliveries and flushes each socket once, under one cork:
 * a payment per `writev` per socket would dominate fan-out. Frames for a room's one member are written straight to
 * its TCP socket in the same flush, ahead of what Engine.IO queued after them.
 * Why and what it relies on: docs/decisions/socket-io-internals.md.
 */
export class WriteCoalescer implements FrameWriter {
  /** Rooms of several members held this turn, so a burst to a large room walks its members once, not once per payment. */
  private readonly heldRooms = new Set<string>();
  /** Held connections, each followed by the transport that was held. */
  private held: Array<EngineConnection | EngineConnection["transport"]> = [];
  /** Frames for held connections, written before the packets Engine.IO queued while they were held. */
  private frames = new Map<EngineConnection, Buffer[]>();
  private releaseQueued = false;

  constructor(private readonly io: LocalRooms) {}

  /** Holds the room's idle websocket members until the microtasks queued so far have run. */
  hold(room: string, members: ReadonlySet<string> | undefined = this.io.sockets.adapter.rooms.get(room)): void {
    if (members === undefined) return;
    // A one-member room (a tracking ID's usual subscriber) needs no record: its held transport is unwritable, so skipped below.
    if (members.size > 1) {
      if (this.heldRooms.has(room)) return;
      this.heldRooms.add(room);
      this.queueRelease();
    }
    for (const id of members) {
      const socket = this.io.sockets.sockets.get(id);
      if (socket === undefined) continue;
      const conn = socket.conn as unknown as EngineConnection;
      const { transport } = conn;
      // Only an idle websocket: one mid-write already queues in Engine.IO and flushes when the write ends; one held already is unwritable too.
      if (transport.name !== "websocket" || !transport.writable) continue;
      this.holdConnection(conn);
    }
  }

  /**
   * Takes a frame for the connection's TCP socket, written at this turn's
   * flush, when that keeps it in order: the connection was idle (nothing
   * could go before it; direct-write.ts), or holds only frames so far. Then
   * it skips Engine.IO's per-message packet, flush and drain work. Returns
   * false, having taken nothing, otherwise: the caller sends it the stock
   * way, behind what is queued.
   */
  writeFrame(conn: EngineConnection, frame: Buffer): boolean {
    const frames = this.frames.get(conn);
    if (frames !== undefined) {
      // A packet queued in Engine.IO since came after these frames; this one must follow it.
      if (conn.writeBuffer.length > 0) return false;
      frames.push(frame);
      return true;
    }
    if (!idleForDirectWrite(conn)) return false;
    this.frames.set(conn, [frame]);
    this.holdConnection(conn);
    return true;
  }

  private holdConnection(conn: EngineConnection): void {
    this.queueRelease();
    conn.transport.writable = false;
    this.held.push(conn, conn.transport);
  }

  private queueRelease(): void {
    if (this.releaseQueued) return;
    this.releaseQueued = true;
    queueMicrotask(() => this.release());
  }

  private release(): void {
    const held = this.held;
    const frames = this.frames;
    this.held = [];
    this.frames = new Map();
    this.heldRooms.clear();
    this.releaseQueued = false;
    for (let i = 0; i < held.length; i += 2) {
      const conn = held[i] as EngineConnection;
      const transport = held[i + 1] as EngineConnection["transport"];
      // An upgrade or a close in between: that transport is not ours to reopen (its frames had nowhere to go).
      if (conn.transport !== transport) continue;
      const raw = transport.socket?._socket;
      raw?.cork();
      const written = frames.get(conn);
      if (written !== undefined && raw !== undefined) for (const frame of written) raw.write(frame);
      transport.writable = true;
      conn.flush();
      raw?.uncork();
    }
  }
}
