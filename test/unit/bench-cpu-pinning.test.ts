import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { test } from "node:test";
import { parseCoreList, pinnedCommand, planCores } from "../../bench/cpu-pinning.js";

test("core lists expand as taskset reads them, and nonsense is refused", () => {
  assert.deepEqual(parseCoreList("0"), [0]);
  assert.deepEqual(parseCoreList("1-3"), [1, 2, 3]);
  assert.deepEqual(parseCoreList("0,2-3"), [0, 2, 3]);
  assert.throws(() => parseCoreList("3-1"), /runs backwards/);
  assert.throws(() => parseCoreList("one"), /not a core list/);
});

test("the server command runs under taskset only when cores are given", () => {
  assert.deepEqual(pinnedCommand("0", ["node", "main.js"]), ["taskset", "-c", "0", "node", "main.js"]);
  assert.deepEqual(pinnedCommand(undefined, ["node", "main.js"]), ["node", "main.js"]);
});

function canPin(): boolean {
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
    return cpus().length >= 2;
  } catch {
    return false;
  }
}

test("--no-pin turns pinning off and says so", () => {
  assert.deepEqual(planCores({ pin: false, serverCores: "0", generatorCores: "1-" }), { unpinnedBecause: "--no-pin" });
});

test("with two cores and taskset the sides get disjoint cores; an overlap or a missing core is refused", { skip: !canPin() && "needs two cores and taskset" }, () => {
  const last = cpus().length - 1;
  assert.deepEqual(planCores({ pin: true, serverCores: "0", generatorCores: "1-" }), { serverCores: "0", generatorCores: last === 1 ? "1" : `1-${last}` });
  assert.throws(() => planCores({ pin: true, serverCores: "0", generatorCores: "0-" }), /share core 0/);
  assert.throws(() => planCores({ pin: true, serverCores: String(last + 1), generatorCores: "0" }), /does not exist/);
});
