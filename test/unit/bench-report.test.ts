import assert from "node:assert/strict";
import { test } from "node:test";
import { pinningLine, renderMarkdown, summaryTable, type BenchReport, type TargetReport } from "../../bench/bench-report.js";
import type { RateStep } from "../../bench/scenarios/rate-steps.js";
import type { UnicastResult } from "../../bench/scenarios/unicast.js";

function step(rate: number, extra: Partial<RateStep>): RateStep {
  return {
    paymentRate: rate,
    offeredDeliveriesPerSec: rate,
    publishedPerSec: rate,
    deliveredPerSec: rate,
    inWindowPerSec: rate,
    expected: rate,
    delivered: rate,
    missing: 0,
    p50Ms: 1,
    p99Ms: 2,
    p999Ms: 3,
    maxMs: 3,
    serverCpuPercent: 50,
    acknowledgedInWindow: rate,
    serverRssKb: 1,
    machineBusyPercent: 50,
    workerCpuPercent: [1],
    publisherCpuPercent: 1,
    publishFailures: 0,
    saturated: false,
    ...extra,
  };
}

function unicast(steps: RateStep[], trackingIds = 2000): UnicastResult {
  return {
    subscribers: 2000,
    trackingIds,
    connectFailures: 0,
    publishIntervalMs: 5,
    steps,
    peakDeliveredPerSec: 10_000,
    sustainedDeliveriesPerSec: 10_000,
  };
}

function target(name: "service" | "baseline", extra: Partial<TargetReport>): TargetReport {
  return { name, command: name, errors: [], connect: [], fanOut: [], ingest: [], ...extra };
}

function reportOf(targets: TargetReport[]): BenchReport {
  return {
    startedAt: "",
    finishedAt: "",
    mode: "full",
    machine: {},
    method: [],
    generator: { workers: 3, maxWorkerCpuPercent: 0, maxPublisherCpuPercent: 0 },
    targets,
  };
}

test("the summary gives each unicast figure at 5,000/s and 10,000/s once, server CPU and disk included", () => {
  const report = reportOf([
    target("service", { unicast: unicast([step(5000, { deliveriesPerServerCpuSec: 9000, writeBytesPerPayment: 700 }), step(10_000, { deliveriesPerServerCpuSec: 11_000, writeBytesPerPayment: 650 })]) }),
    target("baseline", { unicast: unicast([step(5000, { deliveriesPerServerCpuSec: 18_000, writeBytesPerPayment: 0 }), step(10_000, { deliveriesPerServerCpuSec: 22_000, writeBytesPerPayment: 0 })]) }),
  ]);
  const table = summaryTable(report);
  for (const rate of ["5,000", "10,000"]) {
    for (const metric of ["p50 ms", "p99 ms", "deliveries per server CPU-second", "bytes written per stored payment"]) {
      const rows = table.split("\n").filter((line) => line.startsWith(`| unicast @ ${rate}/s: ${metric} |`));
      assert.equal(rows.length, 1, `${rate} ${metric}: ${rows.length} rows`);
    }
  }
  assert.match(table, /\| unicast @ 10,000\/s: deliveries per server CPU-second \| 11,000 \| 22,000 \| 0\.50× \|/);
  assert.match(table, /\| unicast @ 10,000\/s: bytes written per stored payment \| 650 \| 0 \| — \|/);
});

test("the pinning line names what was asked for and what the kernel allowed", () => {
  const line = pinningLine({ serverCores: "0", generatorCores: "1", orchestratorAllowed: "1", workersAllowed: ["1", "1"], serverAllowed: { service: "0" } });
  assert.equal(line, "Pinning: server on core(s) 0, generator on 1; the kernel's allowed cores: orchestrator 1, load workers 1 / 1, servers service 0.");
  assert.match(pinningLine({ unpinnedBecause: "--no-pin", orchestratorAllowed: "0-1", workersAllowed: [], serverAllowed: {} }), /not pinned \(--no-pin\)/);
});

test("the unicast heading says how many tracking IDs the payments were spread over when clients watch several", () => {
  const report = (trackingIds: number) => reportOf([target("service", { unicast: unicast([step(5000, {})], trackingIds) })]);
  assert.match(renderMarkdown(report(2000)), /### unicast \(2,000 subscribers, one per tracking ID, /);
  assert.match(renderMarkdown(report(200_000)), /### unicast \(2,000 subscribers, 200,000 tracking IDs, one subscriber each, /);
});

test("the main thread's share of the server's CPU is reported per unicast step, in the summary and in the step table", () => {
  const report = reportOf([
    target("service", { unicast: unicast([step(10_000, { serverCpuPercent: 70, serverMainThreadCpuPercent: 45 })]) }),
    target("baseline", { unicast: unicast([step(10_000, { serverCpuPercent: 44, serverMainThreadCpuPercent: 40 })]) }),
  ]);
  assert.match(summaryTable(report), /\| unicast @ 10,000\/s: of it on the main thread \(event loop\) % \| 45 \| 40 \| 1\.13× \|/);
  const markdown = renderMarkdown(report);
  const header = markdown.split("\n").find((line) => line.startsWith("| payments/s |"));
  const row = markdown.split("\n").find((line) => line.startsWith("| 10,000 | 10,000 |"));
  assert.ok(header !== undefined && row !== undefined, "a unicast step table");
  const column = header.split("|").findIndex((cell) => cell.trim() === "of it main thread %");
  assert.ok(column > 0, "the step table has the column");
  assert.equal(row.split("|")[column]?.trim(), "45");
  assert.equal(row.split("|").length, header.split("|").length, "every cell under its heading");
});

test("a step's main-thread profile is listed under its step table, with its busy time, its top functions and its file", () => {
  const profile = {
    file: "/tmp/profiles/service-unicast-10000.cpuprofile",
    busyMs: 4210,
    top: [
      { name: "writev", where: "", selfMs: 900, percentOfBusy: 21.4 },
      { name: "keepFor", where: "dist/src/gateway/engine/recovery-adapter.js:271", selfMs: 150, percentOfBusy: 3.6 },
    ],
  };
  const markdown = renderMarkdown(reportOf([target("service", { unicast: unicast([step(5000, {}), step(10_000, { cpuProfiles: [profile] })]) })]));
  const lines = markdown.split("\n").filter((line) => line.startsWith("- 10,000/s, main thread"));
  assert.deepEqual(lines, [
    "- 10,000/s, main thread 4,210 ms busy: writev 21.4 %; keepFor (dist/src/gateway/engine/recovery-adapter.js:271) 3.6 %. `/tmp/profiles/service-unicast-10000.cpuprofile`",
  ]);
  assert.equal(markdown.split("\n").filter((line) => line.startsWith("- 5,000/s, main thread")).length, 0, "a step without a profile lists none");
});
