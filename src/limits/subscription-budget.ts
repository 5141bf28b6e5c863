export type SubscriptionRefusal = "subscriptions_per_ip" | "subscriptions_per_node";

export interface SubscriptionBudgetOptions {
  /** Subscriptions one address group may hold, its recovery sessions' included; 0 for no limit. */
  perAddress: number;
  /** Subscriptions the node may hold, recovery sessions' included; undefined for no limit. */
  perNode: number | undefined;
  /** Recovery sessions kept at once; past it the oldest is released. */
  maxHeldSessions: number;
  /** Makes a held recovery session unrecoverable (the adapter forgets it). */
  release: (sessionId: string) => void;
}

interface HeldSession {
  address: string;
  rooms: number;
}

/**
 * Subscriptions counted per address group and per node, live ones and those
 * a dropped socket's recovery session keeps for the window alike: a client
 * that subscribes and drops its connection, over and over, holds rooms and
 * memory just as one that stays. When a cap is reached, held sessions are
 * released first, oldest first (the one least likely to come back), and only
 * then is a live subscribe refused.
 */
export class SubscriptionBudget {
  private readonly byAddress = new Map<string, number>();
  private total = 0;
  /** Held sessions, oldest first (a Map keeps insertion order). */
  private readonly held = new Map<string, HeldSession>();
  /** Each address's held sessions, oldest first. */
  private readonly heldByAddress = new Map<string, Set<string>>();

  constructor(private readonly options: SubscriptionBudgetOptions) {}

  /** Makes room for one more subscription of `address`, releasing held sessions if need be; the refusal if there is none. */
  reserve(address: string): SubscriptionRefusal | undefined {
    const { perAddress, perNode } = this.options;
    while (perAddress > 0 && (this.byAddress.get(address) ?? 0) >= perAddress) {
      const oldest = this.heldByAddress.get(address)?.values().next().value;
      if (oldest === undefined) return "subscriptions_per_ip";
      this.evict(oldest);
    }
    while (perNode !== undefined && this.total >= perNode) {
      const oldest = this.held.keys().next().value;
      if (oldest === undefined) return "subscriptions_per_node";
      this.evict(oldest);
    }
    return undefined;
  }

  /** Counts subscriptions taken (positive) or given up (negative) by a live socket. */
  count(address: string, delta: number): void {
    if (delta === 0) return;
    this.total += delta;
    const next = (this.byAddress.get(address) ?? 0) + delta;
    if (next > 0) this.byAddress.set(address, next);
    else this.byAddress.delete(address);
  }

  /** A dropped socket's session now keeps `rooms` rooms for the recovery window. */
  hold(sessionId: string, address: string, rooms: number): void {
    this.unhold(sessionId);
    while (this.held.size >= this.options.maxHeldSessions) {
      const oldest = this.held.keys().next().value;
      if (oldest === undefined) break;
      this.evict(oldest);
    }
    this.held.set(sessionId, { address, rooms });
    let sessions = this.heldByAddress.get(address);
    if (sessions === undefined) this.heldByAddress.set(address, (sessions = new Set()));
    sessions.add(sessionId);
    this.count(address, rooms);
  }

  /** The session was restored or expired: its rooms are no longer held by it. */
  unhold(sessionId: string): void {
    const session = this.held.get(sessionId);
    if (session === undefined) return;
    this.held.delete(sessionId);
    const sessions = this.heldByAddress.get(session.address);
    sessions?.delete(sessionId);
    if (sessions?.size === 0) this.heldByAddress.delete(session.address);
    this.count(session.address, -session.rooms);
  }

  get heldSessions(): number {
    return this.held.size;
  }

  /** Subscriptions counted now, held ones included. */
  get subscriptions(): number {
    return this.total;
  }

  /** Address groups with at least one subscription counted (leak tests check it returns to zero). */
  get trackedAddresses(): number {
    return this.byAddress.size;
  }

  private evict(sessionId: string): void {
    this.unhold(sessionId);
    this.options.release(sessionId);
  }
}
