import assert from "node:assert/strict";
import { test } from "node:test";
import bs58 from "bs58";
import fc from "fast-check";
import { isBase58Of } from "../../src/ingest/base58.js";

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

function reference(text: string, bytes: number): boolean {
  try {
    return bs58.decode(text).length === bytes;
  } catch {
    return false;
  }
}

test("agrees with a full bs58 decode on encodings of any length near 32 and 64 bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 70 }), fc.constantFrom(32, 64), (raw, bytes) => {
      const text = bs58.encode(raw);
      assert.equal(isBase58Of(text, bytes), reference(text, bytes));
    }),
    { numRuns: 3000 },
  );
});

test("agrees with bs58 on leading zero bytes and on arbitrary base58 strings", () => {
  fc.assert(
    fc.property(
      fc.nat({ max: 70 }),
      fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 95 }),
      fc.constantFrom(32, 64),
      (ones, tail, bytes) => {
        const text = "1".repeat(ones) + tail;
        assert.equal(isBase58Of(text, bytes), reference(text, bytes));
      },
    ),
    { numRuns: 5000 },
  );
});

test("refuses what bs58 refuses", () => {
  const valid = bs58.encode(new Uint8Array(64).fill(7));
  for (const text of ["", "0".repeat(88), valid.slice(0, -1) + "l", valid.slice(0, -1) + "é", ` ${valid}`, `${valid} `, valid + valid]) {
    assert.equal(isBase58Of(text, 64), reference(text, 64), JSON.stringify(text));
  }
  assert.equal(isBase58Of(valid, 64), true);
  assert.equal(isBase58Of("1".repeat(32), 32), true);
  assert.equal(isBase58Of(bs58.encode(new Uint8Array(32).fill(255)), 32), true);
});
