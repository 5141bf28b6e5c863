// Relies on socket.io-adapter's `persistSession`/`restoreSession`/`broadcast`/`delAll` hooks, its `encoder` (socket.io-parser's) and `apply`, `nsp.server.opts`,
// `nsp.sockets` and `Socket#notifyOutgoingListeners` (a sole member's frame), and on Socket.IO sending `socket.emit` as a broadcast to the socket's own
// room with recovery on; test/unit/engine-internals.test.ts checks them.
import { Adapter, type BroadcastOptions, type PrivateSessionId, type Room, type Session } from "socket.io-adapter";
import { messageFrame } from "./direct-write.js";
import type { EngineConnection } from "./engine-connection.js";
import { FrontQueue } from "./front-queue.js";
import { KeptTexts } from "./kept-texts.js";
import { NumberRing } from "./number-ring.js";
import { isPlainJson } from "./plain-json.js";
import type { FrameWriter } from "./write-coalescer.js";

type SessionToPersist = Omit<Session, "missedPackets">;

/** A packet as Socket.IO hands it to the adapter. */
export interface KeptPacket {
  type: number;
  id?: number;
  data: unknown[];
}

/** What a frame for a room's one member needs of its Socket.IO socket: the Engine.IO connection, and the hook for `onAnyOutgoing` listeners. */
interface DirectSocket {
  conn: EngineConnection;
  notifyOutgoingListeners?: (packet: KeptPacket) => void;
}

/** The namespace fields this adapter reads, beyond the in-memory adapter's own. */
interface RecoveryNamespace {
  name: string;
  server: { opts: { connectionStateRecovery?: { maxDisconnectionDuration?: number } } };
}

/** socket.io-adapter's private `apply`: calls `callback` with each local socket a broadcast's options reach. */
type ApplyToSockets = (opts: BroadcastOptions, callback: (socket: unknown) => void) => void;

/** The adapter's packet encoder: socket.io-parser's `Encoder`, which the stock `_encode` calls once per broadcast. */
interface PacketEncoder {
  encode(packet: unknown): unknown[];
  replacer?: unknown;
}

export interface RecoveryLimits {
  /**
   * Most packets kept, whatever their age. Past it the oldest go first, and a
   * client whose offset went with them reconnects without recovery (the client
   * library then asks the store with `since`). Bounds memory under sustained load.
   */
  maxPackets: number;
  /** Told when a dropped socket's session is kept and when it is no longer (restored, expired or discarded by the owner). */
  sessions?: RecoverySessionObserver;
}

export interface RecoverySessionObserver {
  held(pid: PrivateSessionId, rooms: readonly Room[], data: unknown): void;
  released(pid: PrivateSessionId): void;
}

const EVENT = 2;
/** Delivered by this node only, as `io.local` does: the cluster adapters skip forwarding it. */
export const LOCAL_ONLY = Object.freeze({ local: true });
const SWEEP_INTERVAL_MS = 60_000;
const OFFSET_PATTERN = /^[0-9]{1,15}$/;

/** As the stock adapter: packets with an ack callback cannot be kept, volatile ones are not meant to be. */
function keepable(packet: KeptPacket, flags: BroadcastOptions["flags"]): boolean {
  return packet.type === EVENT && packet.id === undefined && flags?.volatile === undefined;
}

/** Whether a packet kept with its broadcast options (several rooms, or exceptions) was meant for a socket in these rooms. */
function meantFor(rooms: readonly Room[], opts: BroadcastOptions): boolean {
  const included = opts.rooms.size === 0 || rooms.some((room) => opts.rooms.has(room));
  return included && !rooms.some((room) => opts.except?.has(room));
}

/** Appends to `into` every offset of the ring (increasing) greater than `after`. */
function collectAfter(offsets: NumberRing, after: number, into: number[]): void {
  for (let i = offsets.firstAbove(after); i < offsets.size; i++) into.push(offsets.at(i)!);
}

/** Offsets start at 1: a packet whose room had no kept packet before it links to this. */
const NO_OFFSET = 0;

/**
 * Socket.IO's connection-state recovery (as socket.io-adapter's SessionAwareAdapter), keeping per packet one room
 * name and the JSON (outside the heap), with consecutive offsets found by index, each room's packets chained from
 * its latest, and at most `maxPackets`.
 * Why each choice: docs/decisions/socket-io-internals.md. Socket.IO builds one per namespace from a class:
 * {@link recoveryAdapter} makes one with the limits set.
 */
export class RecoveryAdapter extends Adapter {
  private readonly windowMs: number;
  private readonly sessions = new Map<PrivateSessionId, SessionToPersist & { disconnectedAt: number }>();
  /** Socket ids of the kept sessions: a socket that leaves without one has nobody to recover its own room's packets. */
  private readonly sessionSids = new Set<string>();
  /**
   * The kept packets, oldest first, as three queues of one entry per packet: their offsets are consecutive, ending
   * at `nextOffset - 1`. Each packet's text is the event's arguments as JSON.
   */
  private readonly texts = new KeptTexts();
  private readonly emittedAt = new NumberRing();
  /** The one room a packet went to (the common case: a tracking room, or one socket's own room), or undefined. */
  private readonly packetRooms = new FrontQueue<Room | undefined>();
  /**
   * Per packet sent to one room, the offset of that room's kept packet before it (NO_OFFSET for none): each room's
   * packets are a chain back from its latest, with no object per room. A list per room was an allocation for each
   * room paid twice within the window (docs/decisions/socket-io-internals.md).
   */
  private readonly previousInRoom = new NumberRing();
  private nextOffset = 1;
  /** Per room, the offset of the latest kept packet sent to it alone; the rest are chained from it. */
  private readonly byRoom = new Map<Room, number>();
  /** Offsets of the kept packets sent with broadcast options (several rooms, or exceptions), and those options. */
  private readonly withOptions = new NumberRing();
  private readonly optionsAt = new Map<number, BroadcastOptions>();
  private readonly sweeper: NodeJS.Timeout;
  /** Set only during `super.broadcast` of a packet whose kept JSON is its wire text, with that text; see {@link reuseKeptJson}. */
  private encodingPacket: object | undefined;
  private encodingText = "";

  constructor(
    nsp: unknown,
    private readonly limits: RecoveryLimits,
  ) {
    super(nsp);
    this.windowMs = (nsp as RecoveryNamespace).server.opts.connectionStateRecovery?.maxDisconnectionDuration ?? 2 * 60 * 1000;
    this.sweeper = setInterval(() => this.sweep(Date.now()), SWEEP_INTERVAL_MS);
    // Never what keeps a process alive.
    this.sweeper.unref();
    this.reuseKeptJson();
    this.reachOneRoomDirectly();
  }

  /**
   * The stock `apply` builds two sets per broadcast: the sockets reached (so none is reached twice through several
   * rooms) and the ones excepted. A broadcast to one room with no exceptions, every payment's, needs neither: its
   * members are each reached once by walking the room.
   */
  private reachOneRoomDirectly(): void {
    const adapter = this as unknown as { apply: ApplyToSockets };
    const stock = adapter.apply.bind(this);
    const sockets = (this.nsp as { sockets: Map<string, unknown> }).sockets;
    adapter.apply = (opts, callback) => {
      if (opts.rooms.size !== 1 || (opts.except !== undefined && opts.except.size > 0)) {
        stock(opts, callback);
        return;
      }
      for (const room of opts.rooms) {
        const members = this.rooms.get(room);
        if (members === undefined) return;
        for (const id of members) {
          const socket = sockets.get(id);
          if (socket !== undefined) callback(socket);
        }
      }
    };
  }

  /**
   * A kept packet is already JSON: socket.io-parser's text for it is "2" and that JSON (main namespace, no ack id,
   * nothing binary, no replacer), so the stock encoder is asked only for the other packets, and each payment is
   * stringified once instead of twice. The stock `_encode` still builds the WebSocket frame from the text.
   */
  private reuseKeptJson(): void {
    const adapter = this as unknown as { encoder: PacketEncoder };
    const stock = adapter.encoder;
    if (stock.replacer !== undefined) return;
    adapter.encoder = {
      encode: (packet) => (packet === this.encodingPacket ? [this.encodingText] : stock.encode(packet)),
    };
  }

  override close(): void {
    clearInterval(this.sweeper);
  }

  override persistSession(session: SessionToPersist): void {
    this.sessions.set(session.pid, { ...session, disconnectedAt: Date.now() });
    this.sessionSids.add(session.sid);
    this.limits.sessions?.held(session.pid, session.rooms, session.data);
  }

  /** Forgets a kept session, so it can no longer be restored (its owner needs the room). */
  discardSession(pid: PrivateSessionId): void {
    const session = this.sessions.get(pid);
    if (session === undefined) return;
    this.sessions.delete(pid);
    this.sessionSids.delete(session.sid);
    this.dropRoomPackets(session.sid);
  }

  /**
   * A socket leaving for good: the packets sent to its own room (every ack
   * and error it was sent) can reach nobody now, unless its session was kept
   * (persistSession runs just before this). Without this, a client that
   * subscribes and leaves, again and again, would fill the window with them.
   */
  override delAll(id: string): void {
    super.delAll(id);
    if (!this.sessionSids.has(id)) this.dropRoomPackets(id);
  }

  /** Sessions kept now; for tests and stats. */
  get keptSessions(): number {
    return this.sessions.size;
  }

  /** The session is gone from here: restored (its socket is back, with its own room) or expired (`dropPackets`). */
  private release(pid: PrivateSessionId, dropPackets: boolean): void {
    const session = this.sessions.get(pid);
    this.sessions.delete(pid);
    if (session !== undefined) {
      this.sessionSids.delete(session.sid);
      if (dropPackets) this.dropRoomPackets(session.sid);
    }
    this.limits.sessions?.released(pid);
  }

  /**
   * Lets go of the text of every kept packet sent to this room alone; the
   * packets' places stay (offsets are positions) until they leave the window.
   */
  private dropRoomPackets(room: Room): void {
    const latest = this.byRoom.get(room);
    if (latest === undefined) return;
    this.byRoom.delete(room);
    for (const offset of this.chainFrom(latest)) this.texts.release(this.indexOf(offset));
  }

  /** Appends to `into` the offsets of the room's kept packets greater than `after`, latest first. */
  private collectRoomAfter(room: Room, after: number, into: number[]): void {
    const latest = this.byRoom.get(room);
    if (latest === undefined) return;
    for (const offset of this.chainFrom(latest)) {
      if (offset <= after) return;
      into.push(offset);
    }
  }

  /** A room's kept offsets from `latest` back, to the first one no longer kept. */
  private *chainFrom(latest: number): Generator<number> {
    for (let offset = latest; this.isKept(offset); offset = this.previousInRoom.at(this.indexOf(offset))!) yield offset;
  }

  override restoreSession(pid: PrivateSessionId, offset: string): Promise<Session> {
    // The declared type has no null, but Socket.IO treats a null session as "not recoverable", as the stock adapters return.
    const none = Promise.resolve(null as unknown as Session);
    const session = this.sessions.get(pid);
    if (session === undefined) return none;
    if (session.disconnectedAt + this.windowMs < Date.now()) {
      this.release(pid, true);
      return none;
    }
    if (!OFFSET_PATTERN.test(offset)) return none;
    const after = Number(offset);
    if (!this.isKept(after)) return none;
    // Restored once: its rooms are a live socket's again, and a second handshake with the same id must not copy them.
    this.release(pid, false);
    const missed: number[] = [];
    for (const room of session.rooms) this.collectRoomAfter(room, after, missed);
    const withOptions: number[] = [];
    collectAfter(this.withOptions, after, withOptions);
    for (const candidate of withOptions) {
      const opts = this.optionsAt.get(candidate);
      if (opts !== undefined && meantFor(session.rooms, opts)) missed.push(candidate);
    }
    missed.sort((a, b) => a - b);
    const missedPackets = missed.map((missedOffset) => JSON.parse(this.texts.at(this.indexOf(missedOffset))!) as unknown[]);
    const { disconnectedAt: _, ...restored } = session;
    return Promise.resolve({ ...restored, missedPackets });
  }

  override broadcast(packet: KeptPacket, opts: BroadcastOptions): void {
    const json = this.keep(packet, opts);
    if (json === undefined) super.broadcast(packet, opts);
    else this.sendKept(packet, opts, json, this.textIsWire(packet));
  }

  /**
   * A live event for a room with one member (a tracking ID's usual
   * subscriber): kept as any broadcast, then handed to `writer` as a
   * WebSocket frame for that member's TCP socket, skipping Engine.IO's
   * per-message packet, flush and drain work; sent the stock way when the
   * writer cannot keep it in order. Only for events whose order against the
   * member's other packets is all that matters: Engine.IO's `drain` is not
   * emitted for it.
   */
  sendToSoleMember(packet: KeptPacket, room: Room, writer: FrameWriter): void {
    const json = keepable(packet, LOCAL_ONLY) ? this.keepFor(packet, room, undefined) : undefined;
    const wire = json !== undefined && this.textIsWire(packet);
    const members = this.rooms.get(room);
    const socket = wire && members?.size === 1 ? this.socketOf(members) : undefined;
    if (json !== undefined && socket !== undefined && writer.writeFrame(socket.conn, messageFrame(json))) {
      socket.notifyOutgoingListeners?.(packet);
      return;
    }
    const opts: BroadcastOptions = { rooms: new Set([room]), flags: LOCAL_ONLY };
    if (json === undefined) super.broadcast(packet, opts);
    else this.sendKept(packet, opts, json, wire);
  }

  /** The local socket of a room's first member. */
  private socketOf(members: ReadonlySet<string>): DirectSocket | undefined {
    const sockets = (this.nsp as { sockets: Map<string, DirectSocket> }).sockets;
    for (const id of members) return sockets.get(id);
    return undefined;
  }

  /**
   * Keeps a packet that can be recovered (an event without an ack callback,
   * not volatile): gives it the next offset as its last argument, and returns
   * the JSON kept for it. Undefined for the others, which are not kept.
   */
  private keep(packet: KeptPacket, opts: BroadcastOptions): string | undefined {
    if (!keepable(packet, opts.flags)) return undefined;
    const single = opts.rooms.size === 1 && (opts.except === undefined || opts.except.size === 0);
    return this.keepFor(packet, single ? opts.rooms.values().next().value : undefined, opts);
  }

  /** Keeps a keepable packet sent to one room alone, or (room undefined) with these broadcast options. */
  private keepFor(packet: KeptPacket, room: Room | undefined, opts: BroadcastOptions | undefined): string {
    const offset = this.nextOffset++;
    packet.data.push(String(offset));
    const now = Date.now();
    const json = JSON.stringify(packet.data);
    this.texts.push(json);
    this.emittedAt.push(now);
    this.packetRooms.push(room);
    if (room === undefined) {
      this.previousInRoom.push(NO_OFFSET);
      this.withOptions.push(offset);
      this.optionsAt.set(offset, opts!);
    } else {
      this.previousInRoom.push(this.byRoom.get(room) ?? NO_OFFSET);
      this.byRoom.set(room, offset);
    }
    this.drop(now - this.windowMs);
    return json;
  }

  /** Whether socket.io-parser's text for this kept packet is "2" and its kept JSON: main namespace, nothing binary. */
  private textIsWire(packet: KeptPacket): boolean {
    return (this.nsp as RecoveryNamespace).name === "/" && isPlainJson(packet.data);
  }

  /** Sends a kept packet the stock way, with its kept JSON as the wire text where that is what the encoder would make (`wire`). */
  private sendKept(packet: KeptPacket, opts: BroadcastOptions, json: string, wire: boolean): void {
    if (!wire) {
      super.broadcast(packet, opts);
      return;
    }
    this.encodingPacket = packet;
    this.encodingText = `2${json}`;
    try {
      super.broadcast(packet, opts);
    } finally {
      this.encodingPacket = undefined;
      this.encodingText = "";
    }
  }

  /** Packets kept now; for tests and stats. */
  get keptPackets(): number {
    return this.emittedAt.size;
  }

  /** Rooms with kept packets of their own; for tests and stats. */
  get indexedRooms(): number {
    return this.byRoom.size;
  }

  /** Whether the packet with this offset is still kept. */
  private isKept(offset: number): boolean {
    const index = this.indexOf(offset);
    return index >= 0 && index < this.emittedAt.size;
  }

  /** A kept packet's place in the queues. */
  private indexOf(offset: number): number {
    return offset - (this.nextOffset - this.emittedAt.size);
  }

  private sweep(now: number): void {
    for (const [pid, session] of this.sessions) {
      if (session.disconnectedAt + this.windowMs < now) this.release(pid, true);
    }
    this.drop(now - this.windowMs);
  }

  /** Drops the packets emitted before `threshold`, and the oldest beyond `maxPackets`. */
  private drop(threshold: number): void {
    for (;;) {
      const emittedAt = this.emittedAt.at(0);
      if (emittedAt === undefined || (this.emittedAt.size <= this.limits.maxPackets && emittedAt >= threshold)) return;
      const offset = this.nextOffset - this.emittedAt.size;
      const room = this.packetRooms.at(0);
      this.texts.shift();
      this.emittedAt.shift();
      this.packetRooms.shift();
      this.previousInRoom.shift();
      this.forget(room, offset);
    }
  }

  /**
   * Takes a dropped packet out of the index. A room's chain ends at the first offset no longer kept, so only the
   * room's last packet leaving takes the room out.
   */
  private forget(room: Room | undefined, offset: number): void {
    if (room === undefined) {
      this.withOptions.shift();
      this.optionsAt.delete(offset);
      return;
    }
    if (this.byRoom.get(room) === offset) this.byRoom.delete(room);
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
