/**
 * Unique, valid Solana-style signatures (base58 of 64 bytes) at string-concat
 * cost. Encoding 64 random bytes with bs58 takes ~18 µs, which at 40k
 * payments/s would spend most of a core in the publisher. Instead one random
 * signature is encoded per source and its last base58 digits are replaced by a
 * counter: that changes the number by less than 58^8, and because the first
 * byte is kept well inside 0x10..0xef the value can neither gain nor lose a
 * byte, so every result still decodes to exactly 64 bytes. The counter is
 * scrambled first (a multiplication modulo 58^8 by a number prime to it,
 * so still one value each): chain signatures are random, and counted ones
 * would arrive in key order, which lets the store's identity index append
 * at one end instead of writing a random page per payment.
 */
import { randomBytes } from "node:crypto";
import bs58 from "bs58";

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const COUNTER_DIGITS = 8;
const COUNTER_LIMIT = 58 ** COUNTER_DIGITS;
/**
 * Odd and not a multiple of 29, so prime to 58^8 = 2^8 · 29^8: multiplying by it permutes the counters. Near 58^8
 * times the golden ratio, so that consecutive counters land far apart (a small one would keep them in order).
 */
const SCRAMBLE = 79_147_337_205_789n;
const COUNTER_MODULUS = BigInt(COUNTER_LIMIT);

export class SignatureSource {
  private readonly prefix: string;
  private counter = 0;

  constructor() {
    const bytes = randomBytes(64);
    bytes[0] = 0x10 + ((bytes[0] ?? 0) % 0xe0);
    const encoded = bs58.encode(bytes);
    this.prefix = encoded.slice(0, encoded.length - COUNTER_DIGITS);
  }

  next(): string {
    if (this.counter >= COUNTER_LIMIT) throw new Error("signature counter exhausted");
    let n = Number((BigInt(this.counter++) * SCRAMBLE) % COUNTER_MODULUS);
    let digits = "";
    for (let i = 0; i < COUNTER_DIGITS; i++) {
      digits = ALPHABET.charAt(n % 58) + digits;
      n = Math.floor(n / 58);
    }
    return this.prefix + digits;
  }
}
