import { Adapter, type BroadcastOptions, type PrivateSessionId, type Room, type Session } from "socket.io-adapter";

type SessionToPersist = Omit<Session, "missedPackets">;

/** One broadcast kept for the recovery window. */
interface KeptPacket {
  offset: number;
  /** The one room it went to (the common case: a tracking room, or one socket's own room); undefined when `opts` is kept instead. */
  room: Room | undefined;
  opts: BroadcastOptions | undefined;
  /** The event's arguments as JSON: one string instead of an object graph per packet, for the window's length. */
  json: string;
  emittedAt: number;
}

/** The namespace fields this adapter reads, beyond the in-memory adapter's own. */
interface RecoveryNamespace {
  server: { opts: { connectionStateRecovery?: { maxDisconnectionDuration?: number } } };
}

export interface RecoveryLimits {
  /**
   * Most packets kept, whatever their age. Past it the oldest go first, and a
   * client whose offset went with them reconnects without recovery (the client
   * library then asks the store with `since`). Bounds memory under sustained load.
   */
  maxPackets: number;
}

const EVENT = 2;
const SWEEP_INTERVAL_MS = 60_000;
const OFFSET_PATTERN = /^[0-9]{1,15}$/;

function includes(rooms: readonly Room[], packet: KeptPacket): boolean {
  if (packet.room !== undefined) return rooms.includes(packet.room);
  const { opts } = packet;
  if (opts === undefined) return false;
  const included = opts.rooms.size === 0 || rooms.some((room) => opts.rooms.has(room));
  return included && !rooms.some((room) => opts.except?.has(room));
}

/**
 * Socket.IO's connection-state recovery, kept small. It does what
 * socket.io-adapter's SessionAwareAdapter does (every event broadcast is
 * kept for the window with an offset the client echoes back; a dropped
 * socket's rooms are kept for the window; a returning one gets what its
 * rooms missed after its offset), but it keeps less per packet and finds an
 * offset without a scan:
 *
 * - A packet to one room (every payment, and every `socket.emit`, which
 *   Socket.IO turns into a broadcast to the socket's own room when recovery
 *   is on) keeps that room's name, not the two sets and flags object of its
 *   broadcast options.
 * - Its arguments are kept as their JSON, one string, rather than the
 *   envelope objects, which the GC would otherwise walk for the whole window.
 *   Every event this service sends is JSON (no binary attachments).
 * - Offsets are consecutive integers, so a returning client's offset is an
 *   index, not a search through every packet of the window.
 *
 * Per subscribed connection this is the subscribe ack's entry (about 1 KB
 * with the stock adapter); under load it is every payment of the window, so
 * unlike the stock adapter it also keeps at most `maxPackets`.
 *
 * Socket.IO builds one per namespace from a class: {@link recoveryAdapter} makes one with the limits set.
 */
export class RecoveryAdapter extends Adapter {
  private readonly windowMs: number;
  private readonly sessions = new Map<PrivateSessionId, SessionToPersist & { disconnectedAt: number }>();
  /** Kept packets from index `head` on, oldest first; offsets consecutive. */
  private packets: Array<KeptPacket | undefined> = [];
  private head = 0;
  private nextOffset = 1;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    nsp: unknown,
    private readonly limits: RecoveryLimits,
  ) {
    super(nsp);
    this.windowMs = (nsp as RecoveryNamespace).server.opts.connectionStateRecovery?.maxDisconnectionDuration ?? 2 * 60 * 1000;
    this.sweeper = setInterval(() => this.sweep(Date.now()), SWEEP_INTERVAL_MS);
    // Never what keeps a process alive.
    this.sweeper.unref();
  }

  override close(): void {
    clearInterval(this.sweeper);
  }

  override persistSession(session: SessionToPersist): void {
    this.sessions.set(session.pid, { ...session, disconnectedAt: Date.now() });
  }

  override restoreSession(pid: PrivateSessionId, offset: string): Promise<Session> {
    // The declared type has no null, but Socket.IO treats a null session as "not recoverable", as the stock adapters return.
    const none = Promise.resolve(null as unknown as Session);
    const session = this.sessions.get(pid);
    if (session === undefined) return none;
    if (session.disconnectedAt + this.windowMs < Date.now()) {
      this.sessions.delete(pid);
      return none;
    }
    const index = this.indexOf(offset);
    if (index === undefined) return none;
    const missedPackets: unknown[][] = [];
    for (let i = index + 1; i < this.packets.length; i++) {
      const packet = this.packets[i];
      if (packet !== undefined && includes(session.rooms, packet)) missedPackets.push(JSON.parse(packet.json) as unknown[]);
    }
    const { disconnectedAt: _, ...restored } = session;
    return Promise.resolve({ ...restored, missedPackets });
  }

  override broadcast(packet: { type: number; id?: number; data: unknown[] }, opts: BroadcastOptions): void {
    // As the stock adapter: packets with an ack callback cannot be kept, volatile ones are not meant to be.
    if (packet.type === EVENT && packet.id === undefined && opts.flags?.volatile === undefined) {
      const offset = this.nextOffset++;
      packet.data.push(String(offset));
      const single = opts.rooms.size === 1 && (opts.except === undefined || opts.except.size === 0);
      const now = Date.now();
      this.packets.push({
        offset,
        room: single ? opts.rooms.values().next().value : undefined,
        opts: single ? undefined : opts,
        json: JSON.stringify(packet.data),
        emittedAt: now,
      });
      this.drop(now - this.windowMs);
    }
    super.broadcast(packet, opts);
  }

  /** Packets kept now; for tests and stats. */
  get keptPackets(): number {
    return this.packets.length - this.head;
  }

  /** Index of the packet with this offset, if it is still kept. */
  private indexOf(offset: string): number | undefined {
    const oldest = this.packets[this.head];
    if (!OFFSET_PATTERN.test(offset) || oldest === undefined) return undefined;
    const index = this.head + (Number(offset) - oldest.offset);
    return index >= this.head && index < this.packets.length ? index : undefined;
  }

  private sweep(now: number): void {
    for (const [pid, session] of this.sessions) {
      if (session.disconnectedAt + this.windowMs < now) this.sessions.delete(pid);
    }
    this.drop(now - this.windowMs);
  }

  /** Drops the packets emitted before `threshold`, and the oldest beyond `maxPackets`. */
  private drop(threshold: number): void {
    const { packets } = this;
    const keepFrom = packets.length - this.limits.maxPackets;
    while (this.head < packets.length && (this.head < keepFrom || (packets[this.head]?.emittedAt ?? threshold) < threshold)) {
      packets[this.head++] = undefined;
    }
    // Compacted once the dropped front outweighs the rest, so each packet is copied at most about once.
    if (this.head > 1024 && this.head * 2 > packets.length) {
      this.packets = packets.slice(this.head);
      this.head = 0;
    }
  }
}

/** The adapter class Socket.IO is given: a {@link RecoveryAdapter} with these limits for each namespace. */
export function recoveryAdapter(limits: RecoveryLimits): typeof Adapter {
  return class LimitedRecoveryAdapter extends RecoveryAdapter {
    constructor(nsp: unknown) {
      super(nsp, limits);
    }
  };
}
