/**
 * A cursor over borsh bytes. Every read checks the remaining length, so a
 * short payload fails with a reason instead of reading past its end.
 */
import bs58 from "bs58";

export class BorshError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BorshError";
  }
}

export class BorshReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #at: number;

  constructor(bytes: Uint8Array, start = 0) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#at = start;
  }

  get offset(): number {
    return this.#at;
  }

  get remaining(): number {
    return this.#bytes.length - this.#at;
  }

  #take(count: number, what: string): number {
    if (this.remaining < count) {
      throw new BorshError(`${what} needs ${count} bytes at byte ${this.#at}, only ${this.remaining} left`);
    }
    const at = this.#at;
    this.#at += count;
    return at;
  }

  u8(what: string): number {
    return this.#view.getUint8(this.#take(1, what));
  }

  bool(what: string): boolean {
    const value = this.u8(what);
    if (value > 1) throw new BorshError(`${what} is a bool but holds ${value}`);
    return value === 1;
  }

  u32(what: string): number {
    return this.#view.getUint32(this.#take(4, what), true);
  }

  u64(what: string): bigint {
    return this.#view.getBigUint64(this.#take(8, what), true);
  }

  i64(what: string): bigint {
    return this.#view.getBigInt64(this.#take(8, what), true);
  }

  /** A copy, so the value does not pin the whole payload in memory. */
  bytes(count: number, what: string): Uint8Array {
    const at = this.#take(count, what);
    return this.#bytes.slice(at, at + count);
  }

  skip(count: number, what: string): void {
    this.#take(count, what);
  }

  pubkey(what: string): string {
    const at = this.#take(32, what);
    return bs58.encode(this.#bytes.subarray(at, at + 32));
  }

  /** Borsh `Option<T>`: one tag byte (0 None, 1 Some), then T only when Some. */
  option<T>(what: string, read: () => T): T | undefined {
    const tag = this.u8(`${what} tag`);
    if (tag === 0) return undefined;
    if (tag !== 1) throw new BorshError(`${what} has option tag ${tag}`);
    return read();
  }
}
