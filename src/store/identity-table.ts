import { randomInt } from "node:crypto";

/**
 * Payment identities `(signature, eventIndex)` → the `seq` of the row said to
 * hold them, in memory: the SQLite writer's duplicate check. A B-tree keyed by
 * the identity cost the writer a random page per payment, since chain
 * signatures are random (docs/decisions/payment-log.md, "Identities in
 * memory"); this table costs a hash and a probe.
 *
 * It holds a 32-bit hash and a `seq` per identity, no text. So an entry is a
 * candidate, not an answer: the writer reads the row by `seq` and compares
 * before it calls a payment a duplicate. That also makes a stale entry (its
 * row deleted elsewhere, or written by a transaction that rolled back)
 * harmless. Open addressing with linear probing, 12 bytes a slot, at most
 * three quarters full. A clean close saves it in the index file
 * ({@link snapshot}), so a start need not read every row.
 */
export class IdentityTable {
  private hashes: Uint32Array;
  private seqs: Float64Array;
  private mask: number;
  private entries = 0;

  /**
   * `seed` seeds the hash, so that signatures that would all land in one
   * probe run cannot be prepared in advance; random unless restored.
   */
  constructor(
    initialSlots = 4096,
    private readonly seed = randomInt(2 ** 32) >>> 0,
  ) {
    const slots = 2 ** Math.ceil(Math.log2(Math.max(initialSlots, 16)));
    this.hashes = new Uint32Array(slots);
    this.seqs = new Float64Array(slots);
    this.mask = slots - 1;
  }

  /** The table as bytes, to be {@link restore}d by a later process. */
  snapshot(): IdentitySnapshot {
    return {
      seed: this.seed,
      entries: this.entries,
      hashes: new Uint8Array(this.hashes.buffer, 0, this.hashes.byteLength),
      seqs: new Uint8Array(this.seqs.buffer, 0, this.seqs.byteLength),
    };
  }

  /** A table from its {@link snapshot}; undefined when the bytes do not make one (damaged, or another layout). */
  static restore(saved: IdentitySnapshot): IdentityTable | undefined {
    const slots = saved.hashes.byteLength / 4;
    if (!Number.isInteger(slots) || slots < 16 || (slots & (slots - 1)) !== 0 || saved.seqs.byteLength !== slots * 8) return undefined;
    const table = new IdentityTable(slots, saved.seed);
    // Copied byte by byte: a blob's bytes need not sit where a typed array may start.
    new Uint8Array(table.hashes.buffer).set(saved.hashes);
    new Uint8Array(table.seqs.buffer).set(saved.seqs);
    let entries = 0;
    for (const hash of table.hashes) if (hash !== 0) entries += 1;
    if (entries !== saved.entries || entries * 4 > slots * 3) return undefined;
    table.entries = entries;
    return table;
  }

  get size(): number {
    return this.entries;
  }

  add(signature: string, eventIndex: number, seq: number): void {
    if ((this.entries + 1) * 4 > this.hashes.length * 3) this.grow();
    this.place(identityHash(signature, eventIndex, this.seed), seq);
    this.entries += 1;
  }

  /** The `seq`s of every entry whose hash matches the identity; nearly always none. */
  candidates(signature: string, eventIndex: number): readonly number[] {
    const hash = identityHash(signature, eventIndex, this.seed);
    let found: number[] | undefined;
    for (let slot = hash & this.mask; this.hashes[slot] !== 0; slot = (slot + 1) & this.mask) {
      if (this.hashes[slot] === hash) (found ??= []).push(this.seqs[slot] ?? 0);
    }
    return found ?? NONE;
  }

  /** Removes the entry that names this row, if there is one. */
  remove(signature: string, eventIndex: number, seq: number): void {
    const hash = identityHash(signature, eventIndex, this.seed);
    for (let slot = hash & this.mask; this.hashes[slot] !== 0; slot = (slot + 1) & this.mask) {
      if (this.hashes[slot] === hash && this.seqs[slot] === seq) {
        this.vacate(slot);
        this.entries -= 1;
        return;
      }
    }
  }

  private place(hash: number, seq: number): void {
    let slot = hash & this.mask;
    while (this.hashes[slot] !== 0) slot = (slot + 1) & this.mask;
    this.hashes[slot] = hash;
    this.seqs[slot] = seq;
  }

  /**
   * Empties a slot without tombstones: each later entry of the run moves back
   * into the hole when the hole lies between its home slot and where it sits,
   * so every probe still reaches every entry.
   */
  private vacate(slot: number): void {
    let hole = slot;
    for (let next = (hole + 1) & this.mask; this.hashes[next] !== 0; next = (next + 1) & this.mask) {
      const home = (this.hashes[next] ?? 0) & this.mask;
      const homeInRun = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (homeInRun) continue;
      this.hashes[hole] = this.hashes[next] ?? 0;
      this.seqs[hole] = this.seqs[next] ?? 0;
      hole = next;
    }
    this.hashes[hole] = 0;
    this.seqs[hole] = 0;
  }

  private grow(): void {
    const { hashes, seqs } = this;
    this.hashes = new Uint32Array(hashes.length * 2);
    this.seqs = new Float64Array(hashes.length * 2);
    this.mask = this.hashes.length - 1;
    for (let slot = 0; slot < hashes.length; slot++) {
      const hash = hashes[slot] ?? 0;
      if (hash !== 0) this.place(hash, seqs[slot] ?? 0);
    }
  }
}

const NONE: readonly number[] = [];

/** An {@link IdentityTable} as bytes (in this machine's byte order). */
export interface IdentitySnapshot {
  seed: number;
  entries: number;
  hashes: Uint8Array;
  seqs: Uint8Array;
}

/**
 * FNV-1a from `seed` over the signature's UTF-16 units and the event index,
 * then murmur3's finaliser; never 0 (an empty slot).
 */
export function identityHash(signature: string, eventIndex: number, seed: number): number {
  let hash = seed;
  for (let i = 0; i < signature.length; i++) hash = Math.imul(hash ^ signature.charCodeAt(i), 0x01000193);
  hash = Math.imul(hash ^ eventIndex, 0x01000193);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  hash = (hash ^ (hash >>> 16)) >>> 0;
  return hash === 0 ? 1 : hash;
}
