/**
 * A log-bucketed latency histogram: constant memory, cheap to record, and
 * mergeable across worker processes by adding counts. Buckets are 1% wide, so
 * quantiles are within about 1% of the exact value, which is far below the
 * run-to-run noise of a shared 2-core machine.
 */

const BUCKETS_PER_E = 100;
/** ln(1 + 10 minutes in µs) * 100 ≈ 2030; anything slower is clamped. */
const BUCKET_COUNT = 2100;

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export class LatencyHistogram {
  readonly counts: number[];
  count = 0;
  maxUs = 0;

  constructor(counts?: readonly number[]) {
    this.counts = counts ? [...counts] : new Array<number>(BUCKET_COUNT).fill(0);
    if (this.counts.length !== BUCKET_COUNT) throw new Error("histogram bucket count mismatch");
    for (const c of this.counts) this.count += c;
  }

  record(latencyUs: number): void {
    const value = latencyUs < 0 ? 0 : latencyUs;
    let index = Math.floor(Math.log1p(value) * BUCKETS_PER_E);
    if (index >= BUCKET_COUNT) index = BUCKET_COUNT - 1;
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.count++;
    if (value > this.maxUs) this.maxUs = value;
  }

  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKET_COUNT; i++) this.counts[i] = (this.counts[i] ?? 0) + (other.counts[i] ?? 0);
    this.count += other.count;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  /** Upper edge of the bucket holding the q-quantile, in µs. */
  quantileUs(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return Math.min(Math.expm1((i + 1) / BUCKETS_PER_E), this.maxUs);
    }
    return this.maxUs;
  }

  summary(): LatencySummary {
    const ms = (us: number): number => Math.round(us / 10) / 100;
    return {
      count: this.count,
      p50Ms: ms(this.quantileUs(0.5)),
      p99Ms: ms(this.quantileUs(0.99)),
      p999Ms: ms(this.quantileUs(0.999)),
      maxMs: ms(this.maxUs),
    };
  }

  /** Sparse form for IPC: only non-empty buckets travel. */
  toSparse(): { buckets: [number, number][]; maxUs: number } {
    const buckets: [number, number][] = [];
    this.counts.forEach((c, i) => {
      if (c > 0) buckets.push([i, c]);
    });
    return { buckets, maxUs: this.maxUs };
  }

  static fromSparse(sparse: { buckets: [number, number][]; maxUs: number }): LatencyHistogram {
    const histogram = new LatencyHistogram();
    for (const [i, c] of sparse.buckets) {
      histogram.counts[i] = c;
      histogram.count += c;
    }
    histogram.maxUs = sparse.maxUs;
    return histogram;
  }
}
