import assert from "node:assert/strict";
import { test } from "node:test";
import { startInOrder, stopInOrder, type Service } from "../../src/lifecycle.js";

function recorded(names: readonly string[], log: string[], failing?: string): Service[] {
  return names.map((name) => ({
    name,
    start: async () => {
      log.push(`start ${name}`);
      if (name === failing) throw new Error(`${name} failed`);
    },
    stop: async (reason: string) => {
      log.push(`stop ${name} (${reason})`);
      if (name === failing) throw new Error(`${name} failed`);
    },
  }));
}

test("services start and stop in the order of their list, each after the previous one finished", async () => {
  const log: string[] = [];
  const services = recorded(["http", "sources", "webhooks"], log);
  await startInOrder(services);
  await stopInOrder([...services].reverse(), "is shutting down");
  assert.deepEqual(log, [
    "start http",
    "start sources",
    "start webhooks",
    "stop webhooks (is shutting down)",
    "stop sources (is shutting down)",
    "stop http (is shutting down)",
  ]);
});

test("a failing stop ends the sequence there and rejects", async () => {
  const log: string[] = [];
  await assert.rejects(stopInOrder(recorded(["a", "b", "c"], log, "b"), "x"), /b failed/);
  assert.deepEqual(log, ["stop a (x)", "stop b (x)"]);
});

test("entries without start or stop are passed over", async () => {
  const log: string[] = [];
  await startInOrder([{ name: "stop only", stop: async () => void log.push("stopped") }, ...recorded(["b"], log)]);
  await stopInOrder([{ name: "start only", start: async () => void log.push("started") }], "x");
  assert.deepEqual(log, ["start b"]);
});
