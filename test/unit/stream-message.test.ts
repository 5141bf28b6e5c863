import assert from "node:assert/strict";
import { test } from "node:test";
import { messageText, parseStreamMessage } from "../../src/sources/redis-stream/stream-message.js";
import { paymentBody, randomPubkey, randomSignature } from "../support/payments.js";
import { paymentRecordEvent } from "../support/stream-messages.js";

const U64_MAX = "18446744073709551615";

test("the JSON is taken from message, then payload, then a lone field of any name", () => {
  assert.deepEqual(messageText(["payload", "b", "message", "a"]), { ok: true, text: "a" });
  assert.deepEqual(messageText(["other", "x", "payload", "b"]), { ok: true, text: "b" });
  assert.deepEqual(messageText(["value", "c"]), { ok: true, text: "c" });
  const none = messageText(["key", "k", "value", "v"]);
  assert.equal(none.ok, false);
  assert.match(!none.ok ? none.detail : "", /key, value/);
});

test("an indexer PaymentRecord event becomes a payment, with exact u64 amounts and keys as base58 or byte arrays", () => {
  for (const keysAsArrays of [false, true]) {
    const payer = randomPubkey();
    const event = paymentRecordEvent({ memo: "order-1", amount: U64_MAX, payer, keysAsArrays, slot: 99, recordId: 3 });
    const result = parseStreamMessage(JSON.stringify(event));
    assert.ok(result.ok, result.ok ? "" : result.detail);
    assert.equal(result.format, "payment_record");
    assert.equal(result.payment.trackingId, "order-1");
    assert.equal(result.payment.amount, 2n ** 64n - 1n);
    assert.equal(result.payment.payer, payer);
    assert.equal(result.payment.signature, event.signature);
    assert.equal(result.payment.eventIndex, 0);
    assert.equal(result.payment.slot, 99);
    assert.equal(result.payment.recordId, 3);
    assert.equal(result.payment.status, "executed");
  }
});

test("event_index is used when the producer adds it", () => {
  const result = parseStreamMessage(JSON.stringify(paymentRecordEvent({ memo: "m", amount: "1", eventIndex: 2 })));
  assert.ok(result.ok && result.format !== "policy_event");
  assert.equal(result.payment.eventIndex, 2);
});

test("an amount JSON.parse would have rounded is refused rather than stored wrong", () => {
  const text = JSON.stringify(paymentRecordEvent({ memo: "m", amount: "0" })).replace('"amount":"0"', `"amount":${U64_MAX}`);
  const result = parseStreamMessage(text);
  assert.equal(result.ok, false);
  assert.match(!result.ok ? result.detail : "", /data\.amount/);
});

test("an empty memo is skipped, an unusable one and broken events are malformed", () => {
  const empty = parseStreamMessage(JSON.stringify(paymentRecordEvent({ memo: [], amount: "1" })));
  assert.deepEqual(empty.ok ? undefined : [empty.skip, empty.reason], [true, "empty_memo"]);
  const cases: Array<[string, RegExp]> = [
    [JSON.stringify(paymentRecordEvent({ memo: [0x61, 0x07], amount: "1" })), /invalid_tracking_id/],
    [JSON.stringify(paymentRecordEvent({ memo: [0xff, 0xfe], amount: "1" })), /UTF-8/],
    [JSON.stringify({ ...paymentRecordEvent({ memo: "m", amount: "1" }), event_name: "PolicyCreated" }), /event_name/],
    [JSON.stringify({ ...paymentRecordEvent({ memo: "m", amount: "1" }), signature: "abc" }), /signature/],
    [JSON.stringify(paymentRecordEvent({ memo: "m", amount: "1", gateway: "not-base58-0OIl" })), /data\.gateway/],
    ["{not json", /not JSON/],
    ["[1,2]", /one JSON object/],
  ];
  for (const [text, pattern] of cases) {
    const result = parseStreamMessage(text);
    assert.equal(result.ok, false, text);
    assert.equal(!result.ok && result.skip, false, text);
    assert.match(!result.ok ? result.detail : "", pattern, text);
  }
});

test("the service's own payment JSON is validated as a publish body", () => {
  const body = paymentBody({ trackingId: "svc-1", amount: U64_MAX, eventIndex: 4, signature: randomSignature() });
  const result = parseStreamMessage(JSON.stringify(body));
  assert.ok(result.ok);
  assert.equal(result.format, "payment");
  assert.equal(result.payment.amount, 2n ** 64n - 1n);
  assert.equal(result.payment.eventIndex, 4);
  const bad = parseStreamMessage(JSON.stringify({ ...body, amount: "-1" }));
  assert.equal(bad.ok, false);
  assert.match(!bad.ok ? bad.detail : "", /INVALID_PAYMENT: amount/);
});
