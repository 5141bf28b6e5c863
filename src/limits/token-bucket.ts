/** What a bucket holds after `elapsedSeconds` of refilling, never more than its capacity. */
export function refilled(tokens: number, capacity: number, refillPerSecond: number, elapsedSeconds: number): number {
  return Math.min(capacity, tokens + elapsedSeconds * refillPerSecond);
}

/**
 * A token bucket: `capacity` tokens, refilled continuously at
 * `refillPerSecond`. Time is passed in so that callers (and tests) decide
 * the clock; the bucket itself keeps no timer.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
    now: number = performance.now(),
  ) {
    this.tokens = capacity;
    this.updatedAt = now;
  }

  /** Takes `cost` tokens (one by default) if there are that many. */
  take(now: number = performance.now(), cost = 1): boolean {
    this.refill(now);
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }

  /** True when the bucket has refilled completely, so forgetting it loses nothing. */
  isFull(now: number = performance.now()): boolean {
    this.refill(now);
    return this.tokens >= this.capacity;
  }

  private refill(now: number): void {
    const elapsedSeconds = Math.max(0, now - this.updatedAt) / 1000;
    this.updatedAt = now;
    this.tokens = refilled(this.tokens, this.capacity, this.refillPerSecond, elapsedSeconds);
  }
}

/**
 * One token bucket per key (a client address), created on first use. Full
 * buckets are dropped now and then, so that a scan from many addresses cannot
 * grow the map without bound: a full bucket is the same as a new one.
 */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private lastSweep: number;

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
    private readonly sweepEveryMs = 10_000,
    now: number = performance.now(),
  ) {
    this.lastSweep = now;
  }

  take(key: string, now: number = performance.now(), cost = 1): boolean {
    if (now - this.lastSweep >= this.sweepEveryMs) this.sweep(now);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) this.buckets.set(key, (bucket = new TokenBucket(this.capacity, this.refillPerSecond, now)));
    return bucket.take(now, cost);
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(key);
  }
}
