import type { TrackingHeads } from "../store/payment-store.js";

/** Tracking IDs in one store read at most; a turn that asks for more is read in several. */
export const MAX_HEADS_PER_READ = 256;

interface WaitingRead {
  trackingId: string;
  resolve: (heads: TrackingHeads) => void;
  reject: (error: unknown) => void;
}

/**
 * Subscribes' head reads, joined per turn of the event loop: every tracking
 * ID asked for while the sockets' data of one turn is handled is read in one
 * store call at the end of it. On SQLite a head read costs 15 – 20 µs, most
 * of it the read transaction; one statement for several tracking IDs costs
 * 2 – 5 µs each (docs/performance.md, connect).
 *
 * A store that reads synchronously (SQLite) reads everything in one
 * callback, and every caller is answered in the microtasks after it, before
 * any other event (a commit's payments) is handled: a subscribe still joins
 * its room before a payment committed after its read can be emitted, as when
 * it read alone.
 */
export class HeadReads {
  private waiting: WaitingRead[] = [];
  private scheduled = false;

  constructor(private readonly readHeads: (trackingIds: readonly string[]) => Promise<TrackingHeads[]>) {}

  read(trackingId: string): Promise<TrackingHeads> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ trackingId, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.readWaiting());
    });
  }

  private readWaiting(): void {
    this.scheduled = false;
    const waiting = this.waiting;
    this.waiting = [];
    for (let start = 0; start < waiting.length; start += MAX_HEADS_PER_READ) {
      void this.readBatch(waiting.slice(start, start + MAX_HEADS_PER_READ));
    }
  }

  private async readBatch(batch: readonly WaitingRead[]): Promise<void> {
    // Two subscribes to one tracking ID in a turn ask for it once.
    const trackingIds = [...new Set(batch.map((read) => read.trackingId))];
    let heads: TrackingHeads[];
    try {
      heads = await this.readHeads(trackingIds);
    } catch (error) {
      for (const read of batch) read.reject(error);
      return;
    }
    const byTrackingId = new Map(trackingIds.map((trackingId, index) => [trackingId, heads[index]]));
    for (const read of batch) {
      const found = byTrackingId.get(read.trackingId);
      if (found === undefined) read.reject(new Error(`the store returned no heads for ${read.trackingId}`));
      else read.resolve(found);
    }
  }
}
