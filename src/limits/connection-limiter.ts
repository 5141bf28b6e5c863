import { KeyedRateLimiter } from "./token-bucket.js";

export type ConnectionRefusal = "connections_per_ip" | "connection_rate_per_ip";

export interface ConnectionLimiterOptions {
  /** Open connections one address may hold; 0 means no limit. */
  maxPerAddress: number;
  /** New connections per second one address may open (also the burst); 0 means no limit. */
  newPerSecond: number;
}

/**
 * Per-address connection limits: how many are open and how fast new ones
 * arrive. `admit` is asked at the handshake; `opened` and `closed` keep the
 * open count, so the count can never drift from the connections that exist.
 */
export class ConnectionLimiter {
  private readonly open = new Map<string, number>();
  private readonly rate: KeyedRateLimiter | undefined;

  constructor(private readonly options: ConnectionLimiterOptions) {
    this.rate = options.newPerSecond > 0 ? new KeyedRateLimiter(options.newPerSecond, options.newPerSecond) : undefined;
  }

  admit(address: string, now?: number): ConnectionRefusal | undefined {
    if (this.isFull(address)) return "connections_per_ip";
    if (this.rate !== undefined && !this.rate.take(address, now)) return "connection_rate_per_ip";
    return undefined;
  }

  /** True when the address already holds as many connections as it may. */
  isFull(address: string): boolean {
    const max = this.options.maxPerAddress;
    return max > 0 && (this.open.get(address) ?? 0) >= max;
  }

  /** Counts a connection that was let in; false if it is one too many (two handshakes that raced). */
  opened(address: string): boolean {
    const count = (this.open.get(address) ?? 0) + 1;
    this.open.set(address, count);
    return this.options.maxPerAddress === 0 || count <= this.options.maxPerAddress;
  }

  closed(address: string): void {
    const count = (this.open.get(address) ?? 0) - 1;
    if (count > 0) this.open.set(address, count);
    else this.open.delete(address);
  }

  /** Addresses with at least one open connection (the flood tests check it returns to zero). */
  get trackedAddresses(): number {
    return this.open.size;
  }

  get rateBuckets(): number {
    return this.rate?.size ?? 0;
  }
}
