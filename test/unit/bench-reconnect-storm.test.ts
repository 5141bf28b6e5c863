import assert from "node:assert/strict";
import { test } from "node:test";
import { idAndOffset } from "../../bench/resubscribing-client.js";
import { tallyStorm } from "../../bench/scenarios/reconnect-storm.js";
import type { StormClientReceipts } from "../../bench/worker-protocol.js";

const KILLED_US = 1_000_000;

function client(trackingId: string, receipts: [string, number][], extra: Partial<StormClientReceipts> = {}): StormClientReceipts {
  return { trackingId, receipts, duplicates: 0, reconnectAttempts: 1, subscribedAtUs: KILLED_US + 500_000, ...extra };
}

test("the payment id and offset are read from a raw payment frame", () => {
  const raw =
    '42["payment",{"type":"payment_notification","data":{"trackingId":"t-1","amount":5,"amountRaw":"5","signature":"sig","id":"sig:0","offset":42,"eventIndex":0,"recordId":"r"},"timestamp":1}]';
  assert.deepEqual(idAndOffset(raw), { id: "sig:0", offset: 42 });
  assert.equal(idAndOffset('42["ack",{"type":"ack"}]'), undefined);
});

test("caught up is the last arrival of what was acknowledged before the last resubscribe", () => {
  const acknowledged = new Map([
    ["a:0", { trackingId: "t1", ackUs: KILLED_US - 100_000 }],
    ["b:0", { trackingId: "t2", ackUs: KILLED_US + 200_000 }],
    // Acknowledged after everyone was back: counted for loss, not for catching up.
    ["c:0", { trackingId: "t1", ackUs: KILLED_US + 900_000 }],
  ]);
  const clients = [
    client("t1", [["a:0", KILLED_US - 90_000], ["c:0", KILLED_US + 3_000_000]], { subscribedAtUs: KILLED_US + 400_000 }),
    client("t2", [["b:0", KILLED_US + 700_000]], { duplicates: 2, subscribedAtUs: KILLED_US + 600_000 }),
  ];
  const tally = tallyStorm(acknowledged, clients, KILLED_US, KILLED_US + 600_000);
  assert.equal(tally.caughtUpMs, 700);
  assert.equal(tally.acknowledgedBeforeResubscribed, 2);
  assert.equal(tally.lost, 0);
  assert.equal(tally.duplicates, 2);
  assert.equal(tally.unexpected, 0);
  assert.equal(tally.reconnectedP50Ms, 600);
});

test("a payment that never arrived is lost and the clients never caught up; one at the wrong client is unexpected", () => {
  const acknowledged = new Map([
    ["a:0", { trackingId: "t1", ackUs: KILLED_US + 100_000 }],
    ["b:0", { trackingId: "t2", ackUs: KILLED_US + 100_000 }],
  ]);
  const clients = [client("t1", [["a:0", KILLED_US + 800_000], ["b:0", KILLED_US + 800_000]]), client("t2", [])];
  const tally = tallyStorm(acknowledged, clients, KILLED_US, KILLED_US + 500_000);
  assert.equal(tally.lost, 1);
  assert.equal(tally.caughtUpMs, undefined);
  assert.equal(tally.unexpected, 1);
});

test("without every client back there is no caught-up time, but losses are still counted", () => {
  const acknowledged = new Map([["a:0", { trackingId: "t1", ackUs: KILLED_US + 100_000 }]]);
  const tally = tallyStorm(acknowledged, [client("t1", [["a:0", KILLED_US + 800_000]])], KILLED_US, undefined);
  assert.equal(tally.caughtUpMs, undefined);
  assert.equal(tally.lost, 0);
});
