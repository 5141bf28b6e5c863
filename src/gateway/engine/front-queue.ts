// Relies on no Socket.IO or Engine.IO internal itself: it is the packet queue of recovery-adapter.ts, which does,
// and moves with it when Socket.IO changes; test/unit/engine-internals.test.ts checks the adapter's internals.
/**
 * Items in arrival order, dropped from the front: an array with a moving
 * head (a dropped slot is cleared, so what it held can be collected), copied
 * down once the dropped part outweighs the rest, so each item moves about once.
 */
export class FrontQueue<T> {
  private items: Array<T | undefined>;
  private head = 0;

  constructor(...items: T[]) {
    this.items = items;
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** The item `index` places after the oldest. */
  at(index: number): T | undefined {
    return index >= 0 ? this.items[this.head + index] : undefined;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): void {
    if (this.head === this.items.length) return;
    this.items[this.head++] = undefined;
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
