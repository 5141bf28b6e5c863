import type { EngineConnection } from "./engine-connection.js";

/** What the coalescer reads of the Socket.IO server: the room members and their connections. */
interface LocalRooms {
  sockets: {
    adapter: { rooms: Map<string, Set<string>> };
    sockets: Map<string, { conn: unknown }>;
  };
}

/**
 * One group commit delivers many payments to the same sockets in one turn.
 * Left alone, each becomes its own WebSocket frame and its own `writev`
 * per socket, and the syscalls dominate fan-out. So the room's websocket
 * members stop writing until the turn's deliveries are done: Engine.IO
 * queues the packets in its write buffer (where the backlog cap counts
 * them), and {@link WriteCoalescer.release} flushes each buffer under one cork, so
 * a socket's frames of the turn leave in a single write, in order.
 */
export class WriteCoalescer {
  private readonly heldRooms = new Set<string>();
  private held: Array<{ conn: EngineConnection; transport: EngineConnection["transport"] }> = [];
  private readonly heldConns = new Set<EngineConnection>();

  constructor(private readonly io: LocalRooms) {}

  /** Holds the room's idle websocket members until the end of this turn. */
  hold(room: string): void {
    if (this.heldRooms.has(room)) return;
    const members = this.io.sockets.adapter.rooms.get(room);
    if (members === undefined) return;
    if (this.heldRooms.size === 0) process.nextTick(() => this.release());
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
