import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { programDataOf } from "../../src/sources/solana/log-attribution.js";
import { paymentsFromLogs } from "../../src/sources/solana/payments-from-logs.js";
import { encodePaymentRecordBase64 } from "../support/payment-record-encoder.js";

const TRIB = "TRibg8W8zmPHQqWtyAD1rEBRXEdyU13Mu6qX1Sg42tJ";
const TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
const ROUTER = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4";
const BUDGET = "ComputeBudget111111111111111111111111111111";

const event = (memo: string, amount = 1n): string => encodePaymentRecordBase64({ amount, memo });
const tx = { programId: TRIB, signature: "sig", slot: 7 };

describe("programDataOf", () => {
  it("keeps data written by Tributary itself and not by the Token program it calls", () => {
    const logs = [
      `Program ${BUDGET} invoke [1]`,
      `Program ${BUDGET} success`,
      `Program ${TRIB} invoke [1]`,
      "Program log: Instruction: ExecutePayment",
      `Program ${TOKEN} invoke [2]`,
      "Program log: Instruction: TransferChecked",
      "Program data: AAAA",
      `Program ${TOKEN} consumed 6200 of 190000 compute units`,
      `Program ${TOKEN} success`,
      "Program data: TRIB1",
      `Program ${TRIB} consumed 40000 of 200000 compute units`,
      `Program ${TRIB} success`,
    ];
    const result = programDataOf(logs, TRIB);
    assert.deepEqual(result, { data: ["TRIB1"], truncated: false, anomalies: 0 });
  });

  it("keeps Tributary's data inside another program's CPI and drops the caller's", () => {
    const logs = [
      `Program ${ROUTER} invoke [1]`,
      "Program data: ROUTER-BEFORE",
      `Program ${TRIB} invoke [2]`,
      "Program log: Program data: SPOOFED-THROUGH-MSG",
      `Program ${TOKEN} invoke [3]`,
      "Program data: TOKEN",
      `Program ${TOKEN} success`,
      "Program data: TRIB-INNER",
      `Program ${TRIB} consumed 30000 of 180000 compute units`,
      `Program ${TRIB} success`,
      "Program data: ROUTER-AFTER",
      `Program ${ROUTER} consumed 60000 of 200000 compute units`,
      `Program ${ROUTER} success`,
      `Program ${TRIB} invoke [1]`,
      "Program data: TRIB-TOP",
      `Program ${TRIB} success`,
    ];
    assert.deepEqual(programDataOf(logs, TRIB).data, ["TRIB-INNER", "TRIB-TOP"]);
  });

  it("stops at 'Log truncated' and says so", () => {
    const logs = [`Program ${TRIB} invoke [1]`, "Program data: FIRST", "Log truncated"];
    assert.deepEqual(programDataOf(logs, TRIB), { data: ["FIRST"], truncated: true, anomalies: 0 });
  });

  it("survives garbage and resynchronises on the runtime's invoke depth", () => {
    const logs: unknown[] = [
      "garbage",
      42,
      null,
      `Program ${TRIB} success`, // an end with no start
      "Program data: ORPHAN", // outside any invocation
      `Program ${ROUTER} invoke [1]`,
      `Program ${TOKEN} invoke [2]`,
      // The Token frame's end is missing; depth 2 says Tributary replaces it.
      `Program ${TRIB} invoke [2]`,
      "Program data: TRIB-AFTER-RESYNC",
      `Program ${TRIB} success`,
      `Program ${ROUTER} success`,
      // A frame that starts deeper than possible: its parents are unknown.
      `Program ${TRIB} invoke [3]`,
      "Program data: TRIB-DEEP",
      `Program ${TRIB} success`,
      "Program data: UNKNOWN-PARENT",
    ];
    const result = programDataOf(logs, TRIB);
    assert.deepEqual(result.data, ["TRIB-AFTER-RESYNC", "TRIB-DEEP"]);
    assert.ok(result.anomalies >= 5, `anomalies ${result.anomalies}`);
  });

  it("pops a failed frame", () => {
    const logs = [
      `Program ${TRIB} invoke [1]`,
      `Program ${TOKEN} invoke [2]`,
      `Program ${TOKEN} failed: insufficient funds`,
      "Program data: TRIB",
      `Program ${TRIB} failed: insufficient funds`,
    ];
    assert.deepEqual(programDataOf(logs, TRIB).data, ["TRIB"]);
  });
});

describe("paymentsFromLogs", () => {
  it("numbers events among Tributary's PaymentRecords, skipped ones included", () => {
    const logs = [
      `Program ${TRIB} invoke [1]`,
      `Program data: ${event("first", 10n)}`,
      "Program data: Zm9vYmFy", // another event of the program: not counted
      `Program data: ${encodePaymentRecordBase64({ amount: 1n, memo: new Uint8Array(64) })}`,
      "Program data: @@not-base64@@",
      `Program data: ${event("third", 30n)}`,
      `Program ${TRIB} success`,
      `Program ${ROUTER} invoke [1]`,
      `Program data: ${event("forged", 99n)}`,
      `Program ${ROUTER} success`,
    ];
    const found = paymentsFromLogs(logs, tx);
    assert.deepEqual(
      found.payments.map((p) => [p.trackingId, p.eventIndex, p.amount, p.slot, p.signature]),
      [
        ["first", 0, 10n, 7, "sig"],
        ["third", 2, 30n, 7, "sig"],
      ],
    );
    assert.deepEqual(
      found.skipped.map((s) => [s.reason, s.eventIndex]),
      [
        ["empty_memo", 1],
        ["malformed", undefined],
      ],
    );
  });
});
