import assert from "node:assert/strict";
import { test } from "node:test";
import { isValidTrackingId, parseU64 } from "../../src/payment.js";

test("tracking IDs: 1 to 64 UTF-8 bytes of text without control characters", () => {
  for (const valid of ["a", "my-subscription-id", "x".repeat(64), "é".repeat(32), "订单-42", "emoji-😀"]) {
    assert.equal(isValidTrackingId(valid), true, valid);
  }
  for (const invalid of [undefined, null, 1, [], {}, "", "x".repeat(65), "é".repeat(33), "a\u0000", "\u0007", "a\u007f", "a\u0085", "\ud800"]) {
    assert.equal(isValidTrackingId(invalid), false, JSON.stringify(invalid));
  }
});

test("u64 parsing takes canonical decimal strings and safe integers only", () => {
  assert.equal(parseU64("0"), 0n);
  assert.equal(parseU64("18446744073709551615"), 2n ** 64n - 1n);
  assert.equal(parseU64(Number.MAX_SAFE_INTEGER), 9007199254740991n);
  for (const invalid of ["18446744073709551616", "-1", "+1", "01", "1e3", "1.0", " 1", "", "0x10", 1.5, -1, 2 ** 53, Number.NaN, null, 10n]) {
    assert.equal(parseU64(invalid), undefined, String(invalid));
  }
});
