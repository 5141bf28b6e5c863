import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { test } from "node:test";
import { packageRoot } from "../../src/package-root.js";

/** The built bin, as npm links it. */
const BIN = join(packageRoot(), "dist", "src", "cli", "main.js");

async function decode(...args: string[]) {
  const child = spawn(BIN, ["decode", ...args]);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [[code]] = await Promise.all([once(child, "exit"), once(child.stdout, "close"), once(child.stderr, "close")]);
  return { code: code as number | null, stdout, stderr };
}

/**
 * A current-layout PaymentRecord: policy, gateway, payer, recipient and mint
 * are the keys of 32 bytes of 1, 2, 3, 4 and 5; amount u64::MAX; timestamp
 * 1700000000; memo "order-42"; record id 9.
 */
const VECTOR =
  "KmT9fKq657oBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIC//////////8A8VNlAAAAAG9yZGVyLTQyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAJAAAAAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUF";

const EXPECTED = {
  event: "PaymentRecord",
  layout: "current",
  paymentPolicy: "4vJ9JU1bJJE96FWSJKvHsmmFADCg4gpZQff4P3bkLKi",
  gateway: "8qbHbw2BbbTHBW1sbeqakYXVKRQM8Ne7pLK7m6CVfeR",
  amount: "18446744073709551615",
  timestamp: "1700000000",
  time: "2023-11-14T22:13:20.000Z",
  memoHex: "6f726465722d3432" + "00".repeat(56),
  trackingId: "order-42",
  trackingIdProblem: null,
  recordId: 9,
  oneTimeTransfer: false,
  payer: "CktRuQ2mttgRGkXJtyksdKHjUdc2C4TgDzyB98oEzy8",
  recipient: "GgBaCs3NCBuZN12kCJgAW63ydqohFkHEdfdEXBPzLHq",
  tokenMint: "LbUiWL3xVV8hTFYBVdbTNrpDo41NKS6o3LHHuDzjfcY",
};

test("tributary-ws decode turns a fixed Program data payload into the expected JSON, with or without the log prefix", async () => {
  for (const input of [VECTOR, `Program data: ${VECTOR}`]) {
    const result = await decode(input);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), EXPECTED);
  }
  const compact = await decode("--compact", VECTOR);
  assert.equal(compact.stdout.trim().split("\n").length, 1);
  assert.deepEqual(JSON.parse(compact.stdout), EXPECTED);
});

test("tributary-ws decode refuses garbage, another event and a truncated record with a message and a non-zero exit", async () => {
  const otherEvent = Buffer.alloc(252, 7).toString("base64");
  const truncated = VECTOR.slice(0, 200);
  for (const [input, pattern] of [
    ["not base64 at all!", /not valid base64/],
    [otherEvent, /discriminator is not PaymentRecord/],
    [truncated, /PaymentRecord has 150 bytes/],
  ] as const) {
    const result = await decode(input);
    assert.notEqual(result.code, 0, input);
    assert.equal(result.stdout, "", input);
    assert.match(result.stderr, pattern, input);
  }
  const missing = await decode();
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /missing required argument 'base64'/);
});

test("tributary-ws decode --help explains the argument", async () => {
  const help = await decode("--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: tributary-ws decode \[options\] <base64>/m);
  assert.match(help.stdout, /Program data:/);
});
