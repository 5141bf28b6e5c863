import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import type { ClusterStatus } from "../../src/cluster/cluster-link.js";
import { createProcessHealth, type ProcessHealthParts } from "../../src/health/process-health.js";
import type { SourceStatus } from "../../src/sources/payment-source.js";

function parts(overrides: Partial<ProcessHealthParts> & { sourceState?: SourceStatus["state"]; clusterState?: ClusterStatus["state"] } = {}): ProcessHealthParts {
  return {
    pingStore: async () => {},
    onStorePingFailed: () => {},
    sources: [{ name: "solana", status: () => ({ state: overrides.sourceState ?? "live" }) }],
    cluster: { status: () => ({ state: overrides.clusterState ?? "single", shed: 0 }) },
    gateway: { connectionCount: 3 },
    webhooks: { health: async () => ({ endpoints: 1, disabled: 0, backlog: 0, oldestPendingAgeSeconds: 0 }) },
    isDraining: () => false,
    startedAt: Date.now(),
    logger: pino({ level: "silent" }),
    ...overrides,
  };
}

test("a healthy process reports ok with its connections, sources, cluster and webhooks", async () => {
  const report = await createProcessHealth(parts())();
  assert.equal(report.status, "ok");
  assert.equal(report.store, "ok");
  assert.equal(report.connections, 3);
  assert.deepEqual(report.sources, { solana: { state: "live" } });
  assert.deepEqual(report.cluster, { state: "single", shed: 0 });
  assert.deepEqual(report.webhooks, { endpoints: 1, disabled: 0, backlog: 0, oldestPendingAgeSeconds: 0 });
});

test("a reconnecting source or a disconnected cluster link degrades; draining wins over everything", async () => {
  assert.equal((await createProcessHealth(parts({ sourceState: "reconnecting" }))()).status, "degraded");
  assert.equal((await createProcessHealth(parts({ clusterState: "disconnected" }))()).status, "degraded");
  assert.equal((await createProcessHealth(parts({ isDraining: () => true, pingStore: () => Promise.reject(new Error("down")) }))()).status, "draining");
});

test("a failed store ping makes the process unavailable and is handed to the wiring", async () => {
  const failure = new Error("down");
  const seen: unknown[] = [];
  const report = await createProcessHealth(parts({ pingStore: () => Promise.reject(failure), onStorePingFailed: (error) => seen.push(error) }))();
  assert.equal(report.status, "unavailable");
  assert.equal(report.store, "error");
  assert.deepEqual(seen, [failure]);
});
