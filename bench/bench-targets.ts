/**
 * The performance targets the service is held to, checked against one run's
 * report, so every run says plainly which it met; no reader has to work the
 * ratios out of the tables.
 */
import type { BenchReport, TargetReport } from "./bench-report.js";
import type { RateStep } from "./scenarios/rate-steps.js";

export interface TargetCheck {
  target: string;
  measured: string;
  /** `undefined` when the run did not measure it (scenario skipped, machine too small). */
  met: boolean | undefined;
}

const FAN_OUT_RATIO = 2;
const HALF_LOAD_P99_MS = 10;
const RSS_PER_CONNECTION_KB = 10;
const MANY_CLIENTS = 50_000;
const MANY_CLIENTS_CONNECTS_PER_SEC = 2000;
const BATCH_INGEST_PER_SEC = 20_000;
const REPLAY_MS = 1000;

function round(value: number, digits = 0): string {
  return value.toLocaleString("en-US", { maximumFractionDigits: digits });
}

/**
 * The first sustained step at or above half of the highest rate kept up:
 * never a gentler load than the target names, even when the ladder has no
 * step exactly at the half.
 */
function stepAtHalfLoad(steps: readonly RateStep[], sustained: number): RateStep | undefined {
  const half = sustained / 2;
  return steps
    .filter((s) => !s.saturated && s.offeredDeliveriesPerSec >= half)
    .sort((a, b) => a.offeredDeliveriesPerSec - b.offeredDeliveriesPerSec)[0];
}

export function checkTargets(report: BenchReport): TargetCheck[] {
  const service = report.targets.find((t) => t.name === "service");
  const baseline = report.targets.find((t) => t.name === "baseline");
  if (service === undefined) return [];
  return [...fanOutChecks(service, baseline), ...connectChecks(service), ...ingestChecks(service), ...replayChecks(service)];
}

function fanOutChecks(service: TargetReport, baseline: TargetReport | undefined): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const fan of service.fanOut) {
    const plain = baseline?.fanOut.find((f) => f.subscribersPerId === fan.subscribersPerId);
    const topOffered = Math.max(...fan.steps.map((s) => s.offeredDeliveriesPerSec));
    const ceiling = fan.steps.every((s) => !s.saturated) ? ` (kept up with the ladder's top step, ${round(topOffered)}/s: a floor)` : "";
    if (plain !== undefined && plain.peakDeliveredPerSec > 0) {
      const ratio = fan.peakDeliveredPerSec / plain.peakDeliveredPerSec;
      // Neither saturated (a quick run's short ladder): both peaks are the ladder's, and their ratio says nothing.
      const plainKeptUp = plain.steps.every((s) => !s.saturated);
      checks.push({
        target: `fan-out ${fan.subscribersPerId} subs/ID: ≥ ${FAN_OUT_RATIO}× plain Socket.IO`,
        measured: plainKeptUp
          ? `both kept up with every step up to ${round(topOffered)}/s: no ratio`
          : `${round(fan.peakDeliveredPerSec)} vs ${round(plain.peakDeliveredPerSec)}/s = ${ratio.toFixed(2)}×${ceiling}`,
        met: plainKeptUp ? undefined : ratio >= FAN_OUT_RATIO,
      });
    }
    const step = stepAtHalfLoad(fan.steps, fan.sustainedDeliveriesPerSec);
    checks.push({
      target: `fan-out ${fan.subscribersPerId} subs/ID: p99 < ${HALF_LOAD_P99_MS} ms at half of saturation`,
      measured:
        step === undefined
          ? "no sustained step at half load"
          : `p99 ${round(step.p99Ms, 1)} ms at ${round(step.offeredDeliveriesPerSec)}/s (saturation ≥ ${round(fan.sustainedDeliveriesPerSec)}/s)`,
      met: step === undefined ? undefined : step.p99Ms < HALF_LOAD_P99_MS,
    });
  }
  return checks;
}

function connectChecks(service: TargetReport): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const measured = service.connect.filter((c) => c.rssPerConnKb !== undefined);
  const largest = measured.sort((a, b) => b.clients - a.clients)[0];
  if (largest?.rssPerConnKb !== undefined) {
    checks.push({
      target: `RSS ≤ ${RSS_PER_CONNECTION_KB} KB per idle subscribed connection`,
      measured: `${round(largest.rssPerConnKb, 1)} KB at ${round(largest.clients)} clients`,
      met: largest.rssPerConnKb <= RSS_PER_CONNECTION_KB,
    });
  }
  const many = service.connect.find((c) => (c.requested ?? c.clients) >= MANY_CLIENTS);
  if (many !== undefined) {
    const fastEnough = (many.connectsPerSec ?? 0) >= MANY_CLIENTS_CONNECTS_PER_SEC;
    const measured = `${round(many.subscribed ?? 0)} subscribed at ${round(many.connectsPerSec ?? 0)}/s`;
    let met: boolean | undefined;
    if (many.skipped !== undefined) met = undefined;
    // Capped by the machine, the count is not judged, but a rate already too slow with fewer clients is.
    else if (many.cappedBy !== undefined) met = fastEnough ? undefined : false;
    else met = (many.subscribed ?? 0) >= MANY_CLIENTS && fastEnough;
    checks.push({
      target: `${round(MANY_CLIENTS)} subscribed clients at ≥ ${round(MANY_CLIENTS_CONNECTS_PER_SEC)} connects/s`,
      measured: many.skipped ?? (many.cappedBy === undefined ? measured : `${measured}, the most this machine holds: ${many.cappedBy}`),
      met,
    });
  }
  return checks;
}

function ingestChecks(service: TargetReport): TargetCheck[] {
  const batched = service.ingest.filter((i) => i.batchSize > 1);
  if (batched.length === 0) return [];
  const best = batched.reduce((a, b) => (b.paymentsPerSec > a.paymentsPerSec ? b : a));
  return [
    {
      target: `durable ingest ≥ ${round(BATCH_INGEST_PER_SEC)} payments/s batched`,
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
      target: `replay of ${round(replay.stored)} payments < ${REPLAY_MS} ms`,
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
