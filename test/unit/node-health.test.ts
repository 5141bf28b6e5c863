import assert from "node:assert/strict";
import { test } from "node:test";
import type { HealthReport } from "../../src/health/health-report.js";
import { nodeHealth } from "../../src/workers/node-health.js";

const report = (overrides: Partial<HealthReport> = {}): HealthReport => ({
  status: "ok",
  store: "ok",
  connections: 1,
  cluster: { state: "connected", shed: 0 },
  sources: {},
  uptimeSeconds: 10,
  ...overrides,
});

test("the node's health: counts add up, the worst status wins, every worker's sources are there", () => {
  const live = { state: "live" } as unknown as HealthReport["sources"][string];
  const merged = nodeHealth([report({ connections: 2, sources: { solana: live } }), report({ connections: 3, uptimeSeconds: 12 })], 2);
  assert.deepEqual(merged, {
    status: "ok",
    store: "ok",
    connections: 5,
    cluster: { state: "connected", shed: 0 },
    sources: { solana: live },
    uptimeSeconds: 12,
    workers: { configured: 2, answering: 2 },
  });
  assert.equal(nodeHealth([report(), report({ status: "degraded" })], 2).status, "degraded");
  assert.equal(nodeHealth([report({ status: "unavailable", store: "error" }), report({ status: "degraded" })], 2).status, "unavailable");
  assert.equal(nodeHealth([report({ status: "draining" }), report({ status: "unavailable" })], 2).status, "draining");
  assert.equal(nodeHealth([report(), report({ store: "error" })], 2).store, "error");
  assert.equal(nodeHealth([report(), report({ cluster: { state: "disconnected", shed: 4 } })], 2).cluster.state, "disconnected");
});

test("a worker that did not answer leaves the node degraded; none answering leaves it unavailable", () => {
  assert.equal(nodeHealth([report()], 3).status, "degraded");
  assert.deepEqual(nodeHealth([report()], 3).workers, { configured: 3, answering: 1 });
  const none = nodeHealth([], 3);
  assert.equal(none.status, "unavailable");
  assert.equal(none.store, "error");
});
