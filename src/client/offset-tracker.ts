export interface Sequenced {
  id: string;
  offset: number;
}

/**
 * Turns the payments of one tracking ID, as they arrive (duplicated by
 * connection-state recovery plus re-subscribe replay, possibly a live one
 * ahead of a replay), into the exact sequence a subscriber should see: each
 * payment once, in offset order.
 *
 * Pure and synchronous: no timers, no network. The caller decides when to
 * give up waiting for a missing offset (`skipGap`).
 */
export class OffsetTracker<T extends Sequenced> {
  private last: number | undefined;
  private readonly pending = new Map<number, T>();
  // Offsets already rule out repeats; ids also catch a payment re-sent under
  // another offset, and a bound keeps a long-lived subscription small.
  private readonly recentIds = new Set<string>();
  private gapExpected = false;

  constructor(
    since?: number,
    private readonly idMemory = 1024,
  ) {
    this.last = since;
  }

  /** The highest offset handed over so far (or the starting `since`). */
  get lastOffset(): number | undefined {
    return this.last;
  }

  /** Whether payments are held back waiting for a missing offset. */
  get hasGap(): boolean {
    return this.pending.size > 0;
  }

  /** Takes one arriving payment; returns those now ready to hand over, in order. */
  accept(item: T): T[] {
    if (this.recentIds.has(item.id)) return [];
    if (this.last !== undefined && item.offset <= this.last) return [];
    if (this.last === undefined || item.offset === this.last + 1 || this.gapExpected) {
      this.gapExpected = false;
      return this.release(item);
    }
    if (!this.pending.has(item.offset)) this.pending.set(item.offset, item);
    return [];
  }

  /**
   * For a live-only subscription that has seen nothing yet: everything up to
   * `offset` is history, so the next payment expected is `offset + 1`.
   */
  startAfter(offset: number): T[] {
    if (this.last !== undefined) return [];
    this.last = offset;
    for (const held of this.pending.keys()) if (held <= offset) this.pending.delete(held);
    return this.drain([]);
  }

  /** The server said payments are missing for good: the next arrival may skip ahead. */
  expectGap(): T[] {
    if (this.pending.size > 0) return this.skipGap();
    this.gapExpected = true;
    return [];
  }

  /** Gives up on the lowest missing offset; returns what that releases, in order. */
  skipGap(): T[] {
    if (this.pending.size === 0) return [];
    const lowest = Math.min(...this.pending.keys());
    const item = this.pending.get(lowest)!;
    this.pending.delete(lowest);
    return this.release(item);
  }

  private release(item: T): T[] {
    this.last = item.offset;
    this.remember(item.id);
    return this.drain([item]);
  }

  private drain(out: T[]): T[] {
    for (let next = this.pending.get((this.last ?? 0) + 1); next !== undefined; next = this.pending.get((this.last ?? 0) + 1)) {
      this.pending.delete(next.offset);
      this.last = next.offset;
      this.remember(next.id);
      out.push(next);
    }
    // Held payments at or below the new position are duplicates of what was just handed over.
    for (const held of this.pending.keys()) if (this.last !== undefined && held <= this.last) this.pending.delete(held);
    return out;
  }

  private remember(id: string): void {
    this.recentIds.add(id);
    if (this.recentIds.size > this.idMemory) {
      const oldest = this.recentIds.values().next().value;
      if (oldest !== undefined) this.recentIds.delete(oldest);
    }
  }
}
