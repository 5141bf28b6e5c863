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
  /** Rooms of several members held this turn, so a burst to a large room walks its members once, not once per payment. */
  private readonly heldRooms = new Set<string>();
  /** Held connections, each followed by the transport that was held. */
  private held: Array<EngineConnection | EngineConnection["transport"]> = [];
  private releaseQueued = false;

  constructor(private readonly io: LocalRooms) {}

  /** Holds the room's idle websocket members until the microtasks queued so far have run. */
  hold(room: string, members: ReadonlySet<string> | undefined = this.io.sockets.adapter.rooms.get(room)): void {
    if (members === undefined) return;
    // A one-member room (a tracking ID's usual subscriber) needs no record: its held transport is unwritable, so skipped below.
    if (members.size > 1) {
      if (this.heldRooms.has(room)) return;
      this.heldRooms.add(room);
    }
    if (!this.releaseQueued) {
      this.releaseQueued = true;
      queueMicrotask(() => this.release());
    }
    for (const id of members) {
      const socket = this.io.sockets.sockets.get(id);
      if (socket === undefined) continue;
      const conn = socket.conn as unknown as EngineConnection;
      const { transport } = conn;
      // Only an idle websocket: one mid-write already queues in Engine.IO and flushes when the write ends; one held already is unwritable too.
      if (transport.name !== "websocket" || !transport.writable) continue;
      transport.writable = false;
      this.held.push(conn, transport);
    }
  }

  private release(): void {
    const held = this.held;
    this.held = [];
    this.heldRooms.clear();
    this.releaseQueued = false;
    for (let i = 0; i < held.length; i += 2) {
      const conn = held[i] as EngineConnection;
      const transport = held[i + 1] as EngineConnection["transport"];
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
