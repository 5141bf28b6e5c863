import assert from "node:assert/strict";
import { test } from "node:test";
import bs58 from "bs58";
import fc from "fast-check";
import { readValidPayment } from "../../src/ingest/common-payment.js";
import { parsePublishBody, paymentSchema } from "../../src/ingest/payment-request.js";
import { ServiceError } from "../../src/errors.js";

const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => bs58.encode(bytes));
const signature = fc.uint8Array({ minLength: 64, maxLength: 64 }).map((bytes) => bs58.encode(bytes));
const safeUnsigned = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

/** A valid value of each field, or (where the field may be) none. */
const validFields = {
  trackingId: fc.string({ minLength: 1, maxLength: 20 }).filter((id) => /^[\x21-\x7e]+$/.test(id)),
  amount: fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map(String), safeUnsigned),
  timestamp: safeUnsigned,
  status: fc.constantFrom("executed", "failed", "pending"),
  signature,
  eventIndex: safeUnsigned,
  paymentPolicy: key,
  gateway: key,
  payer: key,
  recipient: key,
  tokenMint: key,
  recordId: fc.integer({ min: 0, max: 0xffff_ffff }),
  slot: safeUnsigned,
};
const required = ["trackingId", "amount", "timestamp", "signature"] as const;

/** Values a field may wrongly hold: near misses of each rule and other JSON. */
const wrong = fc.oneof(
  fc.constantFrom(-1, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, -0, 0xffff_ffff + 1, "", "0", "01", "-1", "18446744073709551616", "x", null, true, [], {}),
  fc.constantFrom("executed ", "Executed", "1".repeat(32), "1".repeat(64), "O0Il", "a\u0000b", "\u202e", "é".repeat(40)),
  fc.jsonValue(),
  key,
  signature,
);

const validPayment = fc.record(validFields, { requiredKeys: [...required] });
const mangledPayment = fc
  .tuple(validPayment, fc.dictionary(fc.constantFrom(...Object.keys(validFields), "extra", "__proto__x"), wrong, { maxKeys: 2 }), fc.subarray([...required]))
  .map(([payment, overrides, dropped]) => {
    const item: Record<string, unknown> = { ...payment, ...overrides };
    for (const field of dropped) delete item[field];
    return item;
  });

function schemaResult(item: unknown): unknown {
  const parsed = paymentSchema.safeParse(item);
  return parsed.success ? parsed.data : undefined;
}

test("a valid payment is read directly, exactly as the schema reads it", () => {
  fc.assert(
    fc.property(validPayment, (item) => {
      const read = readValidPayment(JSON.parse(JSON.stringify(item)));
      assert.ok(read !== undefined, "taken without the schema");
      assert.deepEqual(read, schemaResult(JSON.parse(JSON.stringify(item))));
    }),
    { numRuns: 500 },
  );
});

test("whatever is read directly the schema accepts with the same result; the rest is left to the schema", () => {
  let declined = 0;
  fc.assert(
    fc.property(fc.oneof(mangledPayment, fc.jsonValue()), (item) => {
      const parsedItem: unknown = JSON.parse(JSON.stringify(item) ?? "null");
      const read = readValidPayment(parsedItem);
      const expected = schemaResult(parsedItem);
      if (read === undefined) {
        declined++;
        assert.equal(expected, undefined, `declined a payment the schema accepts: ${JSON.stringify(item)}`);
      } else assert.deepEqual(read, expected);
    }),
    { numRuns: 3000 },
  );
  assert.ok(declined > 1000, `most mangled items are declined (${declined})`);
});

test("a publish body with a bad item still gets the schema's error, naming the item and the field", () => {
  const good = { trackingId: "order-1", amount: "5", timestamp: 1, signature: "1".repeat(64) };
  assert.throws(
    () => parsePublishBody([good, { ...good, amount: "-5" }]),
    (error: unknown) =>
      error instanceof ServiceError &&
      error.message === "[1].amount: must be a u64: a decimal string or a safe-integer number from 0 to 18446744073709551615",
  );
  assert.throws(() => parsePublishBody({ ...good, extra: 1 }), (error: unknown) => error instanceof ServiceError && error.message === "extra: is not a payment field");
});
