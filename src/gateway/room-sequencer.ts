import type { Logger } from "../logger.js";
import type { StoredPayment } from "../payment.js";
import type { ListQuery } from "../store/payment-store.js";

export interface RoomSequencerOptions {
  read: (query: ListQuery) => Promise<StoredPayment[]>;
  /** Emits one payment to the local room; called in offset order, once per offset. */
  emit: (payment: StoredPayment) => void;
  pageSize: number;
  logger: Logger;
}

interface RoomState {
  /** Highest offset emitted to the room; undefined until the first one. */
  last: number | undefined;
  /**
   * Payments that arrived while a gap was being filled, or ahead of a gap.
   * Made when first needed: most rooms never hold one, and an empty array
   * per room was 31 of the 458 heap bytes each further subscription kept.
   */
  held: StoredPayment[] | undefined;
  /** Set while the store is being read to fill a gap. */
  filling: Promise<void> | undefined;
}

/**
 * Keeps each local room's live stream in offset order, once per offset.
 *
 * On one node payments arrive in order already. Across nodes they do not:
 * two nodes can commit offsets 5 and 6 and their messages cross on the way,
 * and a message can be lost while Redis is down. So a payment that arrives
 * ahead of a gap is held, the gap is read from the store (the one source of
 * truth), and everything is emitted in order; one that arrives again is
 * dropped. State is kept only for tracking IDs with local subscribers.
 */
export class RoomSequencer {
  private readonly rooms = new Map<string, RoomState>();

  constructor(private readonly options: RoomSequencerOptions) {}

  /** Starts tracking a room; `baseline` is the latest offset known when its first socket joined. */
  track(trackingId: string, baseline: number | undefined): void {
    if (!this.rooms.has(trackingId)) this.rooms.set(trackingId, { last: baseline, held: undefined, filling: undefined });
  }

  forget(trackingId: string): void {
    this.rooms.delete(trackingId);
  }

  /** Tracking IDs with local subscribers. */
  trackedIds(): string[] {
    return [...this.rooms.keys()];
  }

  /** Emits a payment to its local room in offset order, once per offset: held past a gap, dropped when already sent. */
  sequence(payment: StoredPayment): void {
    const room = this.rooms.get(payment.trackingId);
    if (room === undefined) {
      // No local subscriber to keep in order, but the emit may still matter:
      // connection-state recovery records it for sockets that dropped briefly
      // (the gateway knows whether any could still ask for it).
      this.options.emit(payment);
      return;
    }
    if (room.filling !== undefined) {
      (room.held ??= []).push(payment);
      return;
    }
    if (room.last === undefined || payment.offset === room.last + 1) {
      room.last = payment.offset;
      this.options.emit(payment);
      return;
    }
    if (payment.offset <= room.last) return;
    (room.held ??= []).push(payment);
    void this.fill(payment.trackingId, room, payment.offset - 1);
  }

  /** Resolves once the room has emitted every offset up to `offset` (read from the store if need be). */
  async catchUp(trackingId: string, offset: number): Promise<void> {
    for (;;) {
      const room = this.rooms.get(trackingId);
      if (room === undefined || (room.last !== undefined && room.last >= offset)) return;
      if (room.filling !== undefined) {
        await room.filling;
        continue;
      }
      await this.fill(trackingId, room, offset);
      return;
    }
  }

  private fill(trackingId: string, room: RoomState, upTo: number): Promise<void> {
    room.filling = this.readGap(trackingId, room, upTo).then((filled) => {
      room.filling = undefined;
      if (this.rooms.get(trackingId) !== room) return;
      const held = (room.held ?? []).sort((a, b) => a.offset - b.offset);
      room.held = undefined;
      for (const payment of held) {
        if (filled) {
          this.sequence(payment);
        } else if (room.last === undefined || payment.offset > room.last) {
          // The store cannot fill the gap now; send what we have in order
          // rather than retry in a loop. A client that needs the gap asks
          // again with `since`.
          room.last = payment.offset;
          this.options.emit(payment);
        }
      }
    });
    return room.filling;
  }

  /** Resolves false when the store could not be read. */
  private async readGap(trackingId: string, room: RoomState, upTo: number): Promise<boolean> {
    const { read, emit, pageSize, logger } = this.options;
    try {
      while (room.last === undefined || room.last < upTo) {
        const after = room.last ?? upTo - 1;
        const page = await read({ trackingId, after, limit: Math.min(pageSize, upTo - after) });
        if (this.rooms.get(trackingId) !== room || page.length === 0) return true;
        for (const payment of page) {
          if (room.last !== undefined && payment.offset <= room.last) continue;
          room.last = payment.offset;
          emit(payment);
        }
      }
      return true;
    } catch (error) {
      logger.warn({ err: error, trackingId, from: room.last, upTo }, "could not fill a gap from the store");
      return false;
    }
  }
}
