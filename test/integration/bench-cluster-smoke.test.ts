/**
 * `npm run bench:cluster -- --quick` end to end: each adapter's node process
 * starts, carries payments from node A to clients on node B, survives Redis
 * being paused, and the report is written. Asserts that it works, never how fast.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const SCRIPT = fileURLToPath(new URL("../../bench/cluster-adapters.ts", import.meta.url));

test("the cluster adapters benchmark runs each adapter and writes its report", { timeout: 300_000 }, async () => {
  const child = spawn(process.execPath, ["--import", "tsx", SCRIPT, "--quick"], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const [code] = await once(child, "exit");
  assert.equal(code, 0, output);
  const json = /Wrote (\S+\.json)/.exec(output)?.[1];
  assert.ok(json, output);
  const report = JSON.parse(readFileSync(json, "utf8")) as {
    runs: { adapter: string; error?: string; steps: { deliveredPerS: number }[]; pauses: { cap: number; maxQueue: number; shed: number }[] }[];
  };
  assert.deepEqual(
    report.runs.map((run) => run.adapter),
    ["classic", "sharded", "streams"],
  );
  for (const run of report.runs) {
    assert.equal(run.error, undefined);
    assert.ok(run.steps.length > 0 && run.steps.every((step) => step.deliveredPerS > 0), `${run.adapter} delivered across nodes`);
    assert.equal(run.pauses.length, 2);
  }
});
