import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBenchOptions } from "../../bench/bench-options.js";

test("bench options: the baseline runs under Node's defaults unless given flags, which go before its script", () => {
  const plain = parseBenchOptions([]).baselineCommand;
  assert.deepEqual(plain.slice(0, 3), ["node", "--import", "tsx"]);
  assert.ok(plain.at(-1)?.endsWith("bench/baseline-server.ts"), plain.join(" "));

  const flagged = parseBenchOptions(["--baseline-node-flags", "--single-threaded-gc  --max-semi-space-size=16"]).baselineCommand;
  assert.deepEqual(flagged.slice(0, 5), ["node", "--single-threaded-gc", "--max-semi-space-size=16", "--import", "tsx"]);
  assert.equal(flagged.at(-1), plain.at(-1));
});

test("bench options: the service command is split on spaces, as before", () => {
  assert.deepEqual(parseBenchOptions(["--service-cmd", "sh  scripts/start.sh"]).serviceCommand, ["sh", "scripts/start.sh"]);
});
