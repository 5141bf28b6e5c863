import assert from "node:assert/strict";
import { test } from "node:test";
import type { BenchReport, TargetReport } from "../../bench/bench-report.js";
import { checkTargets } from "../../bench/bench-targets.js";
import type { FanOutResult } from "../../bench/scenarios/fan-out.js";
import type { RateStep } from "../../bench/scenarios/rate-steps.js";
import type { ReconnectStormResult } from "../../bench/scenarios/reconnect-storm.js";
import type { UnicastResult } from "../../bench/scenarios/unicast.js";

function step(offered: number, p99Ms: number, saturated = false, perId = 100): RateStep {
  return {
    paymentRate: offered / perId,
    offeredDeliveriesPerSec: offered,
    publishedPerSec: offered / perId,
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
    acknowledgedInWindow: offered / perId,
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

function unicast(steps: RateStep[]): UnicastResult {
  return {
    subscribers: 2000,
    trackingIds: 2000,
    connectFailures: 0,
    publishIntervalMs: 5,
    steps,
    peakDeliveredPerSec: Math.max(...steps.map((s) => s.deliveredPerSec)),
    sustainedDeliveriesPerSec: Math.max(0, ...steps.filter((s) => !s.saturated).map((s) => s.offeredDeliveriesPerSec)),
  };
}

function find(checks: ReturnType<typeof checkTargets>, prefix: string) {
  const check = checks.find((c) => c.target.startsWith(prefix));
  assert.ok(check !== undefined, `a check starting with "${prefix}" in ${checks.map((c) => c.target).join(" | ")}`);
  return check;
}

test("fan-out is judged against plain Socket.IO's peak as a no-regression target", () => {
  const service = target("service", [fanOut([step(10_000, 2), step(30_000, 5), step(50_000, 12), step(80_000, 40), step(100_000, 900, true)])]);
  const baseline = target("baseline", [fanOut([step(10_000, 3), step(30_000, 60, true)])]);
  const ratio = find(checkTargets(report(service, baseline)), "7. no regression: fan-out");
  // 80,000 (the peak delivered) against the baseline's 15,000 (its saturated step delivered half of 30,000).
  assert.equal(ratio.met, true);
  assert.match(ratio.measured, /= 5\.33×/);
  assert.doesNotMatch(ratio.measured, /a floor/, "a saturated step means the ceiling was found");
});

test("a fan-out that never saturated is reported as a floor, and slow batched ingest fails", () => {
  const service = target("service", [fanOut([step(10_000, 2), step(20_000, 4)])], {
    ingest: [{ batchSize: 1000, concurrency: 4, paymentsPerSec: 19_999, requestsPerSec: 20, accepted: 1, failedRequests: 0, serverCpuPercent: 1, publisherCpuPercent: 1 }],
  });
  const baseline = target("baseline", [fanOut([step(10_000, 3), step(20_000, 900, true)])]);
  const checks = checkTargets(report(service, baseline));
  assert.match(find(checks, "7. no regression: fan-out").measured, /a floor/);
  assert.equal(find(checks, "7. no regression: durable ingest").met, false);
});

test("unicast: saturation ratio, p99 at 5,000/s, CPU per delivery and bytes per payment at 10,000/s", () => {
  const ours = [step(5000, 8, false, 1), step(10_000, 30, false, 1), step(15_000, 900, true, 1)];
  ours[1] = { ...ours[1]!, deliveriesPerServerCpuSec: 12_000, writeBytesInWindow: 35_000_000, writeBytesPerPayment: 700 };
  const plain = [step(5000, 4, false, 1), step(10_000, 5, false, 1), step(15_000, 6, false, 1), step(30_000, 900, true, 1)];
  plain[1] = { ...plain[1]!, deliveriesPerServerCpuSec: 20_000, writeBytesPerPayment: 0 };
  const checks = checkTargets(report(target("service", [], { unicast: unicast(ours) }), target("baseline", [], { unicast: unicast(plain) })));
  const saturation = find(checks, "1. unicast saturation");
  // 10,000 (its last step that kept up delivered in full; the saturated one half of 15,000) against 15,000.
  assert.equal(saturation.met, false);
  assert.match(saturation.measured, /10,000 vs 15,000\/s = 0\.67×/);
  const p99 = find(checks, "2. unicast p99");
  assert.equal(p99.met, true);
  assert.match(p99.measured, /p99 8 ms \(plain 4 ms\)/);
  const cpu = find(checks, "3. unicast server CPU");
  assert.equal(cpu.met, false);
  assert.match(cpu.measured, /12,000 vs 20,000 deliveries per CPU-second = 0\.60×/);
  const disk = find(checks, "4. ≤ 1 KB");
  assert.equal(disk.met, true);
  assert.match(disk.measured, /700 bytes per payment/);
});

test("unicast without a 10,000/s step or /proc I/O figures is not measured rather than failed", () => {
  const ours = [step(5000, 12, false, 1)];
  const checks = checkTargets(report(target("service", [], { unicast: unicast(ours) }), target("baseline", [], { unicast: unicast(ours) })));
  assert.equal(find(checks, "2. unicast p99").met, false);
  assert.equal(find(checks, "3. unicast server CPU").met, undefined);
  assert.equal(find(checks, "4. ≤ 1 KB").met, undefined);
});

test("the reconnect storm is met only with every client caught up and nothing lost", () => {
  const storm = (extra: Partial<ReconnectStormResult>): ReconnectStormResult => ({
    clients: 1000,
    paymentRate: 2000,
    restartMs: 900,
    resubscribed: 1000,
    reconnectedMs: 1500,
    caughtUpMs: 1700,
    acknowledged: 8000,
    acknowledgedBeforeResubscribed: 5000,
    lost: 0,
    duplicates: 0,
    unexpected: 0,
    reconnects: 1200,
    publishRetries: 40,
    serverCpuMs: 800,
    workerCpuPercent: [40, 40],
    machineBusyPercent: 70,
    ...extra,
  });
  const plain = storm({ caughtUpMs: undefined, lost: 1300, reconnectedMs: 1400 });
  const judge = (ours: ReconnectStormResult) =>
    find(checkTargets(report(target("service", [], { reconnectStorm: ours }), target("baseline", [], { reconnectStorm: plain }))), "6. reconnect storm");
  const good = judge(storm({}));
  assert.equal(good.met, true);
  assert.match(good.measured, /caught up in 1,700 ms, 0 of 8,000 lost.*plain: back in 1,400 ms, 1,300 of 8,000 never received/);
  assert.equal(judge(storm({ lost: 1, caughtUpMs: undefined })).met, false);
  assert.equal(judge(storm({ resubscribed: 999, reconnectedMs: undefined })).met, false);
});

test("connect cost compares CPU per connect and rate at the largest count both sides ran in full", () => {
  const connect = (clients: number, serverCpuUsPerConnect: number, connectsPerSec: number) => ({ clients, subscribed: clients, serverCpuUsPerConnect, connectsPerSec });
  const service = target("service", [], { connect: [connect(1000, 500, 2000), connect(10_000, 700, 1500), { clients: 50_000, skipped: "open-file limit" }] });
  const baseline = target("baseline", [], { connect: [connect(1000, 600, 1800), connect(10_000, 600, 1700)] });
  const check = find(checkTargets(report(service, baseline)), "5. connect");
  assert.equal(check.met, false);
  assert.match(check.measured, /at 10,000 clients: 700 vs 600 µs per connect \(1\.17×\), 1,500 vs 1,700 connects\/s/);
});

test("a fan-out where the baseline never saturated either gives no ratio", () => {
  const service = target("service", [fanOut([step(5_000, 20)])]);
  const baseline = target("baseline", [fanOut([step(5_000, 10)])]);
  const ratio = find(checkTargets(report(service, baseline)), "7. no regression: fan-out");
  assert.equal(ratio.met, undefined);
  assert.match(ratio.measured, /both kept up with every step up to 5,000\/s: no ratio/);
});
