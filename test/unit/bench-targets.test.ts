import assert from "node:assert/strict";
import { test } from "node:test";
import type { BenchReport, TargetReport } from "../../bench/bench-report.js";
import { checkTargets } from "../../bench/bench-targets.js";
import type { FanOutResult } from "../../bench/scenarios/fan-out.js";
import type { RateStep } from "../../bench/scenarios/rate-steps.js";

function step(offered: number, p99Ms: number, saturated = false): RateStep {
  return {
    paymentRate: offered / 100,
    offeredDeliveriesPerSec: offered,
    publishedPerSec: offered / 100,
    deliveredPerSec: saturated ? offered * 0.5 : offered,
    inWindowPerSec: offered,
    expected: offered,
    delivered: offered,
    missing: 0,
    p50Ms: p99Ms / 2,
    p99Ms,
    p999Ms: p99Ms,
    maxMs: p99Ms,
    serverCpuPercent: 50,
    serverRssKb: 100_000,
    machineBusyPercent: 50,
    workerCpuPercent: [10],
    publisherCpuPercent: 5,
    publishFailures: 0,
    saturated,
  };
}

function fanOut(steps: RateStep[]): FanOutResult {
  const kept = steps.filter((s) => !s.saturated);
  return {
    subscribersPerId: 100,
    hotIds: 10,
    steps,
    peakDeliveredPerSec: Math.max(...steps.map((s) => s.deliveredPerSec)),
    sustainedDeliveriesPerSec: Math.max(...kept.map((s) => s.offeredDeliveriesPerSec)),
  };
}

function target(name: "service" | "baseline", fan: FanOutResult[], extra: Partial<TargetReport> = {}): TargetReport {
  return { name, command: name, errors: [], connect: [], fanOut: fan, ingest: [], ...extra };
}

function report(service: TargetReport, baseline: TargetReport): BenchReport {
  return {
    startedAt: "",
    finishedAt: "",
    mode: "full",
    machine: {},
    method: [],
    generator: { workers: 3, maxWorkerCpuPercent: 0, maxPublisherCpuPercent: 0 },
    targets: [service, baseline],
  };
}

test("p99 is judged at the first kept-up step at or above half of the highest rate kept up", () => {
  // Kept up to 80,000/s: half is 40,000, and the ladder has no 40,000 step, so 50,000 is judged, not 30,000.
  const service = target("service", [fanOut([step(10_000, 2), step(30_000, 5), step(50_000, 12), step(80_000, 40), step(100_000, 900, true)])]);
  const baseline = target("baseline", [fanOut([step(10_000, 3), step(30_000, 60, true)])]);
  const checks = checkTargets(report(service, baseline));
  const latency = checks.find((c) => c.target.includes("p99"));
  assert.equal(latency?.met, false);
  assert.match(latency?.measured ?? "", /p99 12 ms at 50,000\/s/);
  const ratio = checks.find((c) => c.target.includes("2×"));
  // 80,000 (the peak delivered) against the baseline's 15,000 (its saturated step delivered half of 30,000).
  assert.equal(ratio?.met, true);
  assert.match(ratio?.measured ?? "", /= 5\.33×/);
  assert.doesNotMatch(ratio?.measured ?? "", /a floor/, "a saturated step means the ceiling was found");
});

test("a fan-out that never saturated is reported as a floor, and a skipped scenario as not measured", () => {
  const service = target("service", [fanOut([step(10_000, 2), step(20_000, 4)])], {
    connect: [{ clients: 50_000, skipped: "open-file limit" }],
    ingest: [{ batchSize: 1000, concurrency: 4, paymentsPerSec: 19_999, requestsPerSec: 20, accepted: 1, failedRequests: 0, serverCpuPercent: 1, publisherCpuPercent: 1 }],
  });
  const baseline = target("baseline", [fanOut([step(10_000, 3), step(20_000, 900, true)])]);
  const checks = checkTargets(report(service, baseline));
  assert.match(checks.find((c) => c.target.includes("2×"))?.measured ?? "", /a floor/);
  assert.equal(checks.find((c) => c.target.includes("50,000"))?.met, undefined);
  assert.equal(checks.find((c) => c.target.includes("ingest"))?.met, false);
  assert.equal(checks.find((c) => c.target.includes("p99"))?.met, true);
});

test("a connect step the machine capped is judged on its rate only", () => {
  const capped = (connectsPerSec: number) =>
    checkTargets(
      report(
        target("service", [], {
          connect: [{ clients: 19_500, requested: 50_000, cappedBy: "open-file limit", subscribed: 19_500, connectsPerSec }],
        }),
        target("baseline", []),
      ),
    ).find((c) => c.target.includes("50,000"));
  const slow = capped(1_600);
  assert.equal(slow?.met, false, "too slow even with fewer clients");
  assert.match(slow?.measured ?? "", /19,500 subscribed at 1,600\/s, the most this machine holds: open-file limit/);
  assert.equal(capped(2_400)?.met, undefined, "fast enough, but 50,000 was not reached: not judged");
});

test("a fan-out where the baseline never saturated either gives no ratio", () => {
  const service = target("service", [fanOut([step(5_000, 20)])]);
  const baseline = target("baseline", [fanOut([step(5_000, 10)])]);
  const ratio = checkTargets(report(service, baseline)).find((c) => c.target.includes("2×"));
  assert.equal(ratio?.met, undefined);
  assert.match(ratio?.measured ?? "", /both kept up with every step up to 5,000\/s: no ratio/);
});
