/**
 * The performance targets the service is held to, checked against one run's
 * report, so every run says plainly which it met; no reader has to work the
 * ratios out of the tables.
 */
import type { BenchReport, TargetReport } from "./bench-report.js";
import type { ConnectResult } from "./scenarios/connect.js";
import type { RateStep } from "./scenarios/rate-steps.js";

export interface TargetCheck {
  target: string;
  measured: string;
  /** `undefined` when the run did not measure it (scenario skipped, machine too small). */
  met: boolean | undefined;
}

const UNICAST_RATIO = 1;
const UNICAST_P99_RATE = 5000;
const UNICAST_P99_MS = 10;
const UNICAST_COST_RATE = 10_000;
const BYTES_PER_PAYMENT = 1024;
const FAN_OUT_RATIO = 2;
const RSS_PER_CONNECTION_KB = 10;
const BATCH_INGEST_PER_SEC = 20_000;
const REPLAY_MS = 1000;

function round(value: number, digits = 0): string {
  return value.toLocaleString("en-US", { maximumFractionDigits: digits });
}

/**
 * Issue 18's targets 1–7, in its order; target 7 gathers the earlier
 * targets that must not regress.
 */
export function checkTargets(report: BenchReport): TargetCheck[] {
  const service = report.targets.find((t) => t.name === "service");
  const baseline = report.targets.find((t) => t.name === "baseline");
  if (service === undefined) return [];
  return [
    ...unicastChecks(service, baseline),
    ...connectCostChecks(service, baseline),
    ...stormChecks(service, baseline),
    ...fanOutChecks(service, baseline),
    ...memoryChecks(service),
    ...replayChecks(service),
    ...ingestChecks(service),
  ];
}

function unicastStep(target: TargetReport | undefined, rate: number): RateStep | undefined {
  return target?.unicast?.steps.find((s) => s.paymentRate === rate);
}

function unicastChecks(service: TargetReport, baseline: TargetReport | undefined): TargetCheck[] {
  const ours = service.unicast;
  if (ours === undefined) return [];
  const checks: TargetCheck[] = [];
  const plain = baseline?.unicast;
  if (plain !== undefined && plain.peakDeliveredPerSec > 0) {
    const ratio = ours.peakDeliveredPerSec / plain.peakDeliveredPerSec;
    const plainKeptUp = plain.steps.every((s) => !s.saturated);
    const oursKeptUp = ours.steps.every((s) => !s.saturated);
    const top = Math.max(...plain.steps.map((s) => s.offeredDeliveriesPerSec));
    let met: boolean | undefined = ratio >= UNICAST_RATIO;
    // Plain never saturated: its peak is the ladder's, so only a service that fell short is judged.
    if (plainKeptUp) met = oursKeptUp ? undefined : false;
    checks.push({
      target: `1. unicast saturation ≥ ${UNICAST_RATIO.toFixed(1)}× plain Socket.IO per server core`,
      measured:
        plainKeptUp && oursKeptUp
          ? `both kept up with every step up to ${round(top)}/s: no ratio`
          : `${round(ours.peakDeliveredPerSec)} vs ${round(plain.peakDeliveredPerSec)}/s = ${ratio.toFixed(2)}×${plainKeptUp ? " (plain never saturated: its figure is a floor)" : ""}`,
      met,
    });
  }
  const atP99 = unicastStep(service, UNICAST_P99_RATE);
  const plainAtP99 = unicastStep(baseline, UNICAST_P99_RATE);
  checks.push({
    target: `2. unicast p99 ≤ ${UNICAST_P99_MS} ms at ${round(UNICAST_P99_RATE)} payments/s, durable before sent`,
    measured:
      atP99 === undefined
        ? `no ${round(UNICAST_P99_RATE)}/s step`
        : `p99 ${round(atP99.p99Ms, 1)} ms${plainAtP99 === undefined ? "" : ` (plain ${round(plainAtP99.p99Ms, 1)} ms)`}${atP99.saturated ? `; saturated: ${atP99.saturationReason ?? ""}` : ""}`,
    met: atP99 === undefined ? undefined : atP99.p99Ms <= UNICAST_P99_MS && !atP99.saturated,
  });
  const atCost = unicastStep(service, UNICAST_COST_RATE);
  const plainAtCost = unicastStep(baseline, UNICAST_COST_RATE);
  const ourCost = atCost?.deliveriesPerServerCpuSec;
  const plainCost = plainAtCost?.deliveriesPerServerCpuSec;
  checks.push({
    target: `3. unicast server CPU per delivery ≤ plain's at ${round(UNICAST_COST_RATE)}/s (deliveries per server CPU-second ≥ plain's)`,
    measured:
      ourCost === undefined || plainCost === undefined
        ? `not measured at ${round(UNICAST_COST_RATE)}/s on both sides`
        : `${round(ourCost)} vs ${round(plainCost)} deliveries per CPU-second = ${(ourCost / plainCost).toFixed(2)}×`,
    met: ourCost === undefined || plainCost === undefined ? undefined : ourCost >= plainCost,
  });
  const bytes = atCost?.writeBytesPerPayment;
  checks.push({
    target: `4. ≤ 1 KB (${round(BYTES_PER_PAYMENT)} bytes) written to disk per stored payment at ${round(UNICAST_COST_RATE)}/s unicast`,
    measured:
      bytes === undefined || atCost === undefined
        ? "not measured (no /proc/<pid>/io, or no step)"
        : `${round(bytes)} bytes per payment (${round((atCost.writeBytesInWindow ?? 0) / 2 ** 20, 1)} MiB over ${round(atCost.acknowledgedInWindow)} payments)` +
          (plainAtCost?.writeBytesPerPayment === undefined ? "" : `; plain ${round(plainAtCost.writeBytesPerPayment)}`),
    met: bytes === undefined ? undefined : bytes <= BYTES_PER_PAYMENT,
  });
  return checks;
}

/** The largest client count both sides connected in full. */
function connectCostChecks(service: TargetReport, baseline: TargetReport | undefined): TargetCheck[] {
  const full = (c: ConnectResult): boolean => c.skipped === undefined && c.connectsPerSec !== undefined && c.serverCpuUsPerConnect !== undefined;
  const pairs = service.connect
    .filter(full)
    .map((ours) => ({ ours, plain: baseline?.connect.find((p) => p.clients === ours.clients && full(p)) }))
    .filter((pair): pair is { ours: ConnectResult; plain: ConnectResult } => pair.plain !== undefined)
    .sort((a, b) => b.ours.clients - a.ours.clients);
  const pair = pairs[0];
  if (pair === undefined) return [];
  const cpu = pair.ours.serverCpuUsPerConnect ?? 0;
  const plainCpu = pair.plain.serverCpuUsPerConnect ?? 0;
  const rate = pair.ours.connectsPerSec ?? 0;
  const plainRate = pair.plain.connectsPerSec ?? 0;
  return [
    {
      target: "5. connect + subscribe: server CPU per connect ≤ plain's and connects/s ≥ plain's",
      measured: `at ${round(pair.ours.clients)} clients: ${round(cpu)} vs ${round(plainCpu)} µs per connect (${(cpu / plainCpu).toFixed(2)}×), ${round(rate)} vs ${round(plainRate)} connects/s (${(rate / plainRate).toFixed(2)}×)`,
      met: cpu <= plainCpu && rate >= plainRate,
    },
  ];
}

function stormChecks(service: TargetReport, baseline: TargetReport | undefined): TargetCheck[] {
  const storm = service.reconnectStorm;
  if (storm === undefined) return [];
  const plain = baseline?.reconnectStorm;
  const ours =
    `${round(storm.resubscribed)}/${round(storm.clients)} back in ${storm.reconnectedMs === undefined ? "—" : `${round(storm.reconnectedMs)} ms`}, ` +
    `caught up ${storm.caughtUpMs === undefined ? "never" : `in ${round(storm.caughtUpMs)} ms`}, ${round(storm.lost)} of ${round(storm.acknowledged)} lost, ${round(storm.duplicates)} duplicates`;
  const theirs =
    plain === undefined
      ? ""
      : `; plain: back in ${plain.reconnectedMs === undefined ? "—" : `${round(plain.reconnectedMs)} ms`}, ${round(plain.lost)} of ${round(plain.acknowledged)} never received`;
  return [
    {
      target: `6. reconnect storm (${round(storm.clients)} clients, ${round(storm.paymentRate)} payments/s): every client caught up, 0 lost`,
      measured: ours + theirs,
      met: storm.lost === 0 && storm.caughtUpMs !== undefined && storm.resubscribed === storm.clients,
    },
  ];
}

function fanOutChecks(service: TargetReport, baseline: TargetReport | undefined): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const fan of service.fanOut) {
    const plain = baseline?.fanOut.find((f) => f.subscribersPerId === fan.subscribersPerId);
    const topOffered = Math.max(...fan.steps.map((s) => s.offeredDeliveriesPerSec));
    const ceiling = fan.steps.every((s) => !s.saturated) ? ` (kept up with the ladder's top step, ${round(topOffered)}/s: a floor)` : "";
    if (plain === undefined || plain.peakDeliveredPerSec <= 0) continue;
    const ratio = fan.peakDeliveredPerSec / plain.peakDeliveredPerSec;
    // Neither saturated (a quick run's short ladder): both peaks are the ladder's, and their ratio says nothing.
    const plainKeptUp = plain.steps.every((s) => !s.saturated);
    checks.push({
      target: `7. no regression: fan-out ${fan.subscribersPerId} subs/ID ≥ ${FAN_OUT_RATIO}× plain Socket.IO`,
      measured: plainKeptUp
        ? `both kept up with every step up to ${round(topOffered)}/s: no ratio`
        : `${round(fan.peakDeliveredPerSec)} vs ${round(plain.peakDeliveredPerSec)}/s = ${ratio.toFixed(2)}×${ceiling}`,
      met: plainKeptUp ? undefined : ratio >= FAN_OUT_RATIO,
    });
  }
  return checks;
}

function memoryChecks(service: TargetReport): TargetCheck[] {
  const measured = service.connect.filter((c) => c.rssPerConnKb !== undefined);
  const largest = measured.sort((a, b) => b.clients - a.clients)[0];
  if (largest?.rssPerConnKb === undefined) return [];
  return [
    {
      target: `7. no regression: RSS ≤ ${RSS_PER_CONNECTION_KB} KB per idle subscribed connection`,
      measured: `${round(largest.rssPerConnKb, 1)} KB at ${round(largest.clients)} clients`,
      met: largest.rssPerConnKb <= RSS_PER_CONNECTION_KB,
    },
  ];
}

function ingestChecks(service: TargetReport): TargetCheck[] {
  const batched = service.ingest.filter((i) => i.batchSize > 1);
  if (batched.length === 0) return [];
  const best = batched.reduce((a, b) => (b.paymentsPerSec > a.paymentsPerSec ? b : a));
  return [
    {
      target: `7. no regression: durable ingest ≥ ${round(BATCH_INGEST_PER_SEC)} payments/s batched`,
      measured: `${round(best.paymentsPerSec)}/s in batches of ${best.batchSize}`,
      met: best.paymentsPerSec >= BATCH_INGEST_PER_SEC,
    },
  ];
}

function replayChecks(service: TargetReport): TargetCheck[] {
  const replay = service.replay;
  if (replay?.timeToAllMs === undefined) return [];
  return [
    {
      target: `7. no regression: replay of ${round(replay.stored)} payments < ${REPLAY_MS} ms`,
      measured: `${round(replay.timeToAllMs, 1)} ms`,
      met: replay.timeToAllMs < REPLAY_MS,
    },
  ];
}

export function targetsTable(report: BenchReport): string {
  const lines = ["| target | measured | met |", "|---|---|---|"];
  for (const check of checkTargets(report)) {
    const met = check.met === undefined ? "not measured" : check.met ? "yes" : "no";
    lines.push(`| ${check.target} | ${check.measured} | ${met} |`);
  }
  return lines.join("\n");
}
