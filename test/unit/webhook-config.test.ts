import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config.js";

test("webhook settings: defaults, and bad values named at start", () => {
  const config = loadConfig({});
  assert.deepEqual(config.WEBHOOK_ALLOWED_HOSTS, []);
  assert.deepEqual(config.WEBHOOK_RETRY_SCHEDULE_MS, [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
  assert.equal(config.WEBHOOK_DISABLE_AFTER_MS, 5 * 24 * 3600 * 1000);
  assert.deepEqual(loadConfig({ WEBHOOK_ALLOWED_HOSTS: "127.0.0.1, hooks.internal, 10.0.0.0/8, ::1" }).WEBHOOK_ALLOWED_HOSTS, [
    "127.0.0.1",
    "hooks.internal",
    "10.0.0.0/8",
    "::1",
  ]);
  assert.deepEqual(loadConfig({ WEBHOOK_RETRY_SCHEDULE_MS: "10, 20" }).WEBHOOK_RETRY_SCHEDULE_MS, [10, 20]);
  for (const [name, value] of [
    ["WEBHOOK_ALLOWED_HOSTS", "http://hooks.internal"],
    ["WEBHOOK_ALLOWED_HOSTS", "10.0.0.0/99"],
    ["WEBHOOK_RETRY_SCHEDULE_MS", "5s,10s"],
    ["WEBHOOK_DISABLE_AFTER_MS", "-1"],
    ["WEBHOOK_TIMEOUT_MS", "10"],
  ] as const) {
    assert.throws(() => loadConfig({ [name]: value }), (error: unknown) => error instanceof ConfigError && error.message.includes(name), `${name}=${value}`);
  }
});
