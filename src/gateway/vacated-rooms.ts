/**
 * Rooms whose last local member left within the recovery window.
 *
 * With connection-state recovery on, Socket.IO keeps every broadcast for the
 * window so that a socket that dropped can get what it missed, and only then
 * filters by the rooms that socket was in. A payment for a room nobody here
 * is in, and nobody left lately, can reach no one: emitting it would only
 * encode it and keep it in memory for the window. Most tracking IDs are not
 * watched at any given moment, so this is most payments of a busy service.
 * A socket that dropped while in a room was its member until then, so the
 * room is either still occupied or recorded here until the window ends.
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
