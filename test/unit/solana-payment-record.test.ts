import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeProgramData } from "../../src/tributary/decode-program-data.js";
import { memoToTrackingId } from "../../src/tributary/memo.js";
import {
  CURRENT_RECORD_BYTES,
  LEGACY_RECORD_BYTES,
  PAYMENT_RECORD_DISCRIMINATOR,
  ZERO_PUBKEY,
  decodePaymentRecord,
  isOneTimeTransfer,
} from "../../src/tributary/payment-record.js";
import { toPaymentInput } from "../../src/tributary/to-payment-input.js";
import { encodePaymentRecord, encodePaymentRecordBase64, randomPubkey } from "../support/payment-record-encoder.js";

// Hand-built from the borsh layout, independently of the encoder under test.
const DISCRIMINATOR_HEX = "2a64fd7caabae7ba"; // sha256("event:PaymentRecord")[0..8]
const LEGACY_HEX = [
  DISCRIMINATOR_HEX,
  "01".repeat(32), // payment_policy
  "02".repeat(32), // gateway
  "ffffffffffffffff", // amount: u64::MAX
  "bf0e526500000000", // timestamp: 1699876543
  "6d792d737562736372697074696f6e2d6964" + "00".repeat(46), // memo "my-subscription-id"
  "07000000", // record_id: 7
].join("");
const CURRENT_HEX = [
  DISCRIMINATOR_HEX,
  "00".repeat(32), // payment_policy: zero key (one-time transfer)
  "02".repeat(32),
  "1581e97df4102211", // amount: 1234567890123456789
  "bf0e526500000000",
  "6f72646572" + "00".repeat(59), // memo "order"
  "00000000", // record_id: 0
  "03".repeat(32), // payer
  "04".repeat(32), // recipient
  "05".repeat(32), // token_mint
].join("");

const KEY_01 = "4vJ9JU1bJJE96FWSJKvHsmmFADCg4gpZQff4P3bkLKi";
const KEY_02 = "8qbHbw2BbbTHBW1sbeqakYXVKRQM8Ne7pLK7m6CVfeR";
const KEY_03 = "CktRuQ2mttgRGkXJtyksdKHjUdc2C4TgDzyB98oEzy8";
const KEY_04 = "GgBaCs3NCBuZN12kCJgAW63ydqohFkHEdfdEXBPzLHq";
const KEY_05 = "LbUiWL3xVV8hTFYBVdbTNrpDo41NKS6o3LHHuDzjfcY";

const b64 = (hex: string): string => Buffer.from(hex, "hex").toString("base64");

describe("PaymentRecord decoding", () => {
  it("computes the Anchor discriminator", () => {
    assert.equal(Buffer.from(PAYMENT_RECORD_DISCRIMINATOR).toString("hex"), DISCRIMINATOR_HEX);
  });

  it("decodes a fixed legacy (six-field) vector", () => {
    assert.equal(LEGACY_HEX.length / 2, LEGACY_RECORD_BYTES);
    const result = decodePaymentRecord(b64(LEGACY_HEX));
    assert.ok(result.ok, result.ok ? "" : result.detail);
    const { record } = result;
    assert.equal(record.layout, "legacy");
    assert.equal(record.paymentPolicy, KEY_01);
    assert.equal(record.gateway, KEY_02);
    assert.equal(record.amount, 18446744073709551615n);
    assert.equal(record.timestamp, 1699876543n);
    assert.equal(record.recordId, 7);
    assert.equal(record.payer, undefined);
    assert.equal(record.tokenMint, undefined);
    assert.deepEqual(memoToTrackingId(record.memo), { ok: true, trackingId: "my-subscription-id" });
  });

  it("decodes a fixed current (nine-field) vector of a one-time transfer", () => {
    assert.equal(CURRENT_HEX.length / 2, CURRENT_RECORD_BYTES);
    const result = decodePaymentRecord(b64(CURRENT_HEX));
    assert.ok(result.ok, result.ok ? "" : result.detail);
    const { record } = result;
    assert.equal(record.layout, "current");
    assert.equal(record.paymentPolicy, ZERO_PUBKEY);
    assert.equal(record.amount, 1234567890123456789n);
    assert.equal(record.recordId, 0);
    assert.equal(record.payer, KEY_03);
    assert.equal(record.recipient, KEY_04);
    assert.equal(record.tokenMint, KEY_05);
    assert.equal(isOneTimeTransfer(record), true);
  });

  for (const layout of ["legacy", "current"] as const) {
    it(`round-trips the ${layout} layout, amounts above 2^53 included`, () => {
      for (const amount of [0n, 1n, 9007199254740993n, (1n << 64n) - 1n]) {
        const init = {
          layout,
          paymentPolicy: randomPubkey(),
          gateway: randomPubkey(),
          amount,
          timestamp: -5n,
          memo: "sub-ü-42",
          recordId: 4_294_967_295,
          ...(layout === "current" ? { payer: randomPubkey(), recipient: randomPubkey(), tokenMint: randomPubkey() } : {}),
        };
        const result = decodePaymentRecord(encodePaymentRecordBase64(init));
        assert.ok(result.ok);
        assert.equal(result.record.amount, amount);
        assert.equal(result.record.timestamp, -5n);
        assert.equal(result.record.recordId, 4_294_967_295);
        assert.equal(result.record.paymentPolicy, init.paymentPolicy);
        assert.equal(result.record.gateway, init.gateway);
        assert.equal(result.record.payer, init.payer);
        assert.equal(result.record.recipient, init.recipient);
        assert.equal(result.record.tokenMint, init.tokenMint);
        assert.deepEqual(memoToTrackingId(result.record.memo), { ok: true, trackingId: "sub-ü-42" });
      }
    });
  }

  it("tells other events, wrong sizes and bad base64 apart", () => {
    const other = encodePaymentRecord({ amount: 1n, memo: "x" });
    other[0] = (other[0] ?? 0) ^ 0xff;
    assert.equal(decodePaymentRecord(Buffer.from(other).toString("base64")).ok, false);
    assert.deepEqual(
      (decodePaymentRecord(Buffer.from(other).toString("base64")) as { reason: string }).reason,
      "not-payment-record",
    );
    const short = Buffer.from(LEGACY_HEX.slice(0, -2), "hex").toString("base64");
    assert.deepEqual((decodePaymentRecord(short) as { reason: string }).reason, "malformed");
    const between = Buffer.concat([Buffer.from(LEGACY_HEX, "hex"), Buffer.alloc(10)]).toString("base64");
    assert.deepEqual((decodePaymentRecord(between) as { reason: string }).reason, "malformed");
    assert.deepEqual((decodePaymentRecord("not base64!") as { reason: string }).reason, "malformed");
    assert.deepEqual((decodePaymentRecord(b64(LEGACY_HEX) + " AAAA") as { reason: string }).reason, "malformed");
  });

  it("decodes a longer future layout by its known prefix", () => {
    const longer = Buffer.concat([Buffer.from(CURRENT_HEX, "hex"), Buffer.from([1, 2, 3, 4])]);
    const result = decodePaymentRecord(longer.toString("base64"));
    assert.ok(result.ok);
    assert.equal(result.record.tokenMint, KEY_05);
  });
});

describe("memo to tracking ID", () => {
  const memo = (bytes: number[]): Uint8Array => {
    const out = new Uint8Array(64);
    out.set(bytes);
    return out;
  };
  it("rejects an empty memo", () => {
    assert.equal((memoToTrackingId(memo([])) as { reason: string }).reason, "empty_memo");
  });
  it("rejects invalid UTF-8 and control characters", () => {
    assert.equal((memoToTrackingId(memo([0x61, 0xff])) as { reason: string }).reason, "invalid_tracking_id");
    assert.equal((memoToTrackingId(memo([0x61, 0x0a, 0x62])) as { reason: string }).reason, "invalid_tracking_id");
    // An interior NUL is not padding.
    assert.equal((memoToTrackingId(memo([0x61, 0x00, 0x62])) as { reason: string }).reason, "invalid_tracking_id");
  });
  it("accepts a memo that fills all 64 bytes", () => {
    const full = new Uint8Array(64).fill(0x7a);
    assert.deepEqual(memoToTrackingId(full), { ok: true, trackingId: "z".repeat(64) });
  });
});

describe("toPaymentInput", () => {
  const at = { signature: "sig", eventIndex: 3, slot: 99 };
  it("maps every field, keeping the amount a bigint", () => {
    const result = decodePaymentRecord(b64(CURRENT_HEX));
    assert.ok(result.ok);
    const mapped = toPaymentInput(result.record, at);
    assert.deepEqual(mapped, {
      ok: true,
      payment: {
        trackingId: "order",
        amount: 1234567890123456789n,
        timestamp: 1699876543,
        status: "executed",
        signature: "sig",
        eventIndex: 3,
        paymentPolicy: ZERO_PUBKEY,
        gateway: KEY_02,
        payer: KEY_03,
        recipient: KEY_04,
        tokenMint: KEY_05,
        recordId: 0,
        slot: 99,
      },
    });
  });
  it("rejects timestamps outside the safe integer range", () => {
    const bytes = encodePaymentRecord({ amount: 1n, memo: "a", timestamp: 1n << 60n });
    const result = decodePaymentRecord(Buffer.from(bytes).toString("base64"));
    assert.ok(result.ok);
    assert.equal((toPaymentInput(result.record, at) as { reason: string }).reason, "timestamp_out_of_range");
  });
});

describe("decodeProgramData", () => {
  it("returns a JSON-safe object with exact decimal strings", () => {
    const decoded = decodeProgramData(`Program data: ${b64(LEGACY_HEX)}`);
    const json = JSON.parse(JSON.stringify(decoded)) as Record<string, unknown>;
    assert.equal(json.amount, "18446744073709551615");
    assert.equal(json.timestamp, "1699876543");
    assert.equal(json.time, "2023-11-13T11:55:43.000Z");
    assert.equal(json.trackingId, "my-subscription-id");
    assert.equal(json.layout, "legacy");
    assert.equal(json.payer, null);
    assert.equal(json.oneTimeTransfer, false);
  });
  it("names the problem for anything else", () => {
    assert.throws(() => decodeProgramData("AAAA"), /not a PaymentRecord/);
  });
});
