// Relies on Engine.IO's `transport.writable` (false queues into `writeBuffer`), `flush()`, the ws `_socket`, and Socket.IO's
// `sockets.adapter.rooms` / `sockets.sockets` maps; test/unit/engine-internals.test.ts checks them.
import type { EngineConnection } from "./engine-connection.js";

/** What the coalescer reads of the Socket.IO server: the room members and their connections. */
interface LocalRooms {
  sockets: {
    adapter: { rooms: Map<string, Set<string>> };
    sockets: Map<string, { conn: unknown }>;
  };
}

/**
 * Holds a room's WebSocket writes during a group commit's deliveries and flushes each socket once, under one cork:
 * a payment per `writev` per socket would dominate fan-out. Why and what it relies on: docs/decisions/socket-io-internals.md.
 */
export class WriteCoalescer {
  private readonly heldRooms = new Set<string>();
  private held: Array<{ conn: EngineConnection; transport: EngineConnection["transport"] }> = [];
  private readonly heldConns = new Set<EngineConnection>();

  constructor(private readonly io: LocalRooms) {}

  /** Holds the room's idle websocket members until the microtasks queued so far have run. */
  hold(room: string): void {
    if (this.heldRooms.has(room)) return;
    const members = this.io.sockets.adapter.rooms.get(room);
    if (members === undefined) return;
    if (this.heldRooms.size === 0) queueMicrotask(() => this.release());
    this.heldRooms.add(room);
    for (const id of members) {
      const socket = this.io.sockets.sockets.get(id);
      if (socket === undefined) continue;
      const conn = socket.conn as unknown as EngineConnection;
      const { transport } = conn;
      // Only an idle websocket: one mid-write already queues in Engine.IO and flushes when the write ends.
      if (transport.name !== "websocket" || !transport.writable || this.heldConns.has(conn)) continue;
      transport.writable = false;
      this.heldConns.add(conn);
      this.held.push({ conn, transport });
    }
  }

  private release(): void {
    const held = this.held;
    this.held = [];
    this.heldConns.clear();
    this.heldRooms.clear();
    for (const { conn, transport } of held) {
      // An upgrade or a close in between: that transport is not ours to reopen.
      if (conn.transport !== transport) continue;
      const raw = transport.socket?._socket;
      raw?.cork();
      transport.writable = true;
      conn.flush();
      raw?.uncork();
    }
  }
}
