// Relies on no Socket.IO or Engine.IO internal: one of the recovery buffer's queues (recovery-adapter.ts).
/**
 * Numbers in arrival order, dropped from the front, in a Float64Array that
 * doubles when full. An array of numbers that also held `undefined` (as
 * FrontQueue's dropped slots do) would box each number as a heap object of
 * its own, which every scavenge of the recovery window then copies.
 */
export class NumberRing {
  private slots: Float64Array;
  private head = 0;
  private count = 0;

  constructor(initialCapacity = 1024) {
    this.slots = new Float64Array(2 ** Math.ceil(Math.log2(Math.max(initialCapacity, 2))));
  }

  get size(): number {
    return this.count;
  }

  /** The number `index` places after the oldest. */
  at(index: number): number | undefined {
    if (index < 0 || index >= this.count) return undefined;
    return this.slots[(this.head + index) & (this.slots.length - 1)];
  }

  set(index: number, value: number): void {
    if (index < 0 || index >= this.count) throw new RangeError(`no number at ${index} of ${this.count}`);
    this.slots[(this.head + index) & (this.slots.length - 1)] = value;
  }

  push(value: number): void {
    if (this.count === this.slots.length) this.grow();
    this.slots[(this.head + this.count) & (this.slots.length - 1)] = value;
    this.count++;
  }

  shift(): void {
    if (this.count === 0) return;
    this.head = (this.head + 1) & (this.slots.length - 1);
    this.count--;
  }

  /** The index of the first number greater than `value`, for a ring kept in increasing order. */
  firstAbove(value: number): number {
    let low = 0;
    let high = this.count;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.at(middle)! <= value) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private grow(): void {
    const larger = new Float64Array(this.slots.length * 2);
    for (let i = 0; i < this.count; i++) larger[i] = this.slots[(this.head + i) & (this.slots.length - 1)]!;
    this.slots = larger;
    this.head = 0;
  }
}
