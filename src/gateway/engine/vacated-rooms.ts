// Relies on socket.io-adapter emitting `delete-room` when a room's last local member leaves (the gateway listens), and on
// recovery matching kept packets by a session's rooms; test/unit/engine-internals.test.ts checks the event.
/**
 * Rooms whose last local member left within the recovery window. A payment for a room neither occupied nor
 * vacated lately can reach no one, so it is not emitted (and not kept for recovery); see
 * docs/decisions/socket-io-internals.md.
 */
export class VacatedRooms {
  /** Room → when its window ends (ms); in the order the windows end, so expired entries are at the front. */
  private readonly until = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records that the room's last local member left now. */
  vacate(room: string): void {
    if (this.windowMs <= 0) return;
    const now = this.now();
    for (const [oldest, end] of this.until) {
      if (end > now) break;
      this.until.delete(oldest);
    }
    // Deleted first so the entry moves to the back and the order above holds.
    this.until.delete(room);
    this.until.set(room, now + this.windowMs);
  }

  /** True while a socket that left the room could still recover its session and ask for what it missed. */
  recentlyVacated(room: string): boolean {
    const end = this.until.get(room);
    return end !== undefined && end > this.now();
  }

  get size(): number {
    return this.until.size;
  }
}
