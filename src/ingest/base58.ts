const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const DIGITS = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DIGITS[ALPHABET.charCodeAt(i)] = i;
const LEADER = 0x31; // "1", the digit zero, which stands for a leading zero byte

/** Shared scratch for the number being built: little-endian limbs of 24 bits, sized for the longest input accepted. */
const LIMB = 2 ** 24;
const limbs = new Float64Array(48);

/**
 * Whether `text` is base58 that decodes to exactly `bytes` bytes, with the
 * same answer as `bs58.decode(text).length === bytes`. Validation only needs
 * the length, so this counts it without allocating the bytes: a full decode
 * of a 64-byte signature cost ~20 µs and was the largest part of validating
 * a publish. An input too long to be `bytes` bytes is refused before any
 * arithmetic, so hostile strings cost nothing.
 */
export function isBase58Of(text: string, bytes: number): boolean {
  // A digit adds log2(58) ≈ 5.86 bits, so a `bytes`-byte value has at most this many digits.
  if (text.length < bytes || text.length > Math.floor((bytes * 8) / Math.log2(58)) + 1 || bytes > 128) return false;
  let zeroes = 0;
  while (zeroes < text.length && text.charCodeAt(zeroes) === LEADER) zeroes++;
  let used = 0;
  // Up to four digits per pass: 58^4 < 2^24, so limb × factor + carry stays an exact double (< 2^53).
  for (let i = zeroes; i < text.length; ) {
    let factor = 1;
    let carry = 0;
    for (const end = Math.min(i + 4, text.length); i < end; i++) {
      const code = text.charCodeAt(i);
      const digit = code < 128 ? (DIGITS[code] as number) : -1;
      if (digit < 0) return false;
      carry = carry * 58 + digit;
      factor *= 58;
    }
    for (let j = 0; j < used; j++) {
      carry += (limbs[j] as number) * factor;
      const high = Math.floor(carry / LIMB);
      limbs[j] = carry - high * LIMB;
      carry = high;
    }
    while (carry > 0) {
      const high = Math.floor(carry / LIMB);
      limbs[used++] = carry - high * LIMB;
      carry = high;
    }
  }
  const top = used === 0 ? 0 : (limbs[used - 1] as number);
  const valueBytes = used === 0 ? 0 : (used - 1) * 3 + (top >= 0x10000 ? 3 : top >= 0x100 ? 2 : 1);
  return zeroes + valueBytes === bytes;
}
