import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readErrorMessage, readPaymentMessage, toWirePayment } from "../../src/client/payment-message.js";
import type { WirePayment } from "../../src/client/types.js";
import type { PaymentNotificationData } from "../../src/protocol/envelopes.js";

// Fails to compile if the server's payment data stops fitting the client's wire type.
const serverDataFitsClient = (data: PaymentNotificationData): WirePayment => data;
void serverDataFitsClient;

const wire = (overrides: Record<string, unknown> = {}) => ({
  type: "payment_notification",
  timestamp: 1_700_000_000_000,
  data: {
    trackingId: "t",
    amount: 18446744073709552000,
    amountRaw: "18446744073709551615",
    timestamp: 1_700_000_000,
    status: "executed",
    signature: "sig",
    id: "sig:0",
    offset: 1,
    eventIndex: 0,
    ...overrides,
  },
});

describe("readPaymentMessage", () => {
  test("amount is the exact bigint from amountRaw; the wire number is kept as amountNumber", () => {
    const payment = readPaymentMessage(wire());
    assert.ok(typeof payment !== "string");
    assert.equal(payment.amount, 2n ** 64n - 1n);
    assert.equal(payment.amountRaw, "18446744073709551615");
    assert.equal(payment.amountNumber, 18446744073709552000);
    assert.deepEqual(
      { id: payment.id, offset: payment.offset, trackingId: payment.trackingId, status: payment.status },
      { id: "sig:0", offset: 1, trackingId: "t", status: "executed" },
    );
  });

  test("optional on-chain fields are copied when present and well-typed", () => {
    const payment = readPaymentMessage(wire({ payer: "p", slot: 9, recordId: "x" }));
    assert.ok(typeof payment !== "string");
    assert.equal(payment.payer, "p");
    assert.equal(payment.slot, 9);
    assert.equal("recordId" in payment, false);
    assert.equal("gateway" in payment, false);
  });

  const broken: Array<[string, unknown]> = [
    ["no data", { type: "payment_notification" }],
    ["a missing id", wire({ id: undefined })],
    ["offset 0", wire({ offset: 0 })],
    ["a fractional offset", wire({ offset: 1.5 })],
    ["a signed amountRaw", wire({ amountRaw: "-1" })],
    ["an amountRaw above u64", wire({ amountRaw: "18446744073709551616" })],
    ["a numeric amountRaw", wire({ amountRaw: 5 })],
  ];
  for (const [label, message] of broken) {
    test(`${label} is refused with a reason`, () => {
      assert.equal(typeof readPaymentMessage(message), "string");
    });
  }
});

describe("readErrorMessage", () => {
  test("keeps code, message and a tracking ID when the server names one", () => {
    assert.deepEqual(readErrorMessage({ type: "error", data: { code: "REPLAY_TRUNCATED", message: "m", trackingId: "t" } }), {
      code: "REPLAY_TRUNCATED",
      message: "m",
      trackingId: "t",
    });
  });

  test("an unreadable error still becomes an error", () => {
    assert.equal(readErrorMessage("nonsense").code, "INVALID_MESSAGE");
  });
});

describe("toWirePayment", () => {
  test("gives back the wire data a payment was read from, field for field and in the same order", () => {
    for (const message of [wire(), wire({ paymentPolicy: "pp", gateway: "g", payer: "p", recipient: "r", tokenMint: "m", recordId: 3, slot: 9 })]) {
      const payment = readPaymentMessage(message);
      assert.ok(typeof payment !== "string");
      // Compared as JSON, so that key order counts: this is what a JSON printer shows.
      assert.equal(JSON.stringify(toWirePayment(payment)), JSON.stringify(message.data));
    }
  });

  test("the amount is the wire's number again, and JSON.stringify takes the result", () => {
    const payment = readPaymentMessage(wire());
    assert.ok(typeof payment !== "string");
    const printed = JSON.parse(JSON.stringify(toWirePayment(payment)));
    assert.equal(printed.amount, 18446744073709552000);
    assert.equal(printed.amountRaw, "18446744073709551615");
    assert.equal("amountNumber" in printed, false);
  });
});
