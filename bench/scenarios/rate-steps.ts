/**
 * The open-loop stepping shared by unicast and fan-out: publish at a rate for
 * a window, count what arrived within the window (throughput), let the rest
 * drain (latency of every delivery), then step up until the server no longer
 * keeps up.
 */
import { cpuPercent, machineBusyPercent, sampleMachine } from "../proc-stats.js";
import type { Publisher } from "../publisher.js";
import { round, sleep, type ScenarioContext } from "../scenario-context.js";
import type { ServerProcess } from "../server-process.js";
import type { PoolStats } from "../worker-pool.js";

export interface RateStep {
  /** Payments/s the publisher aimed for. */
  paymentRate: number;
  /** Deliveries/s that implies (payment rate × subscribers per ID). */
  offeredDeliveriesPerSec: number;
  publishedPerSec: number;
  /** Everything delivered / (last delivery − window start): throughput including the backlog drain. */
  deliveredPerSec: number;
  /** Only what arrived inside the publish window. */
  inWindowPerSec: number;
  expected: number;
  delivered: number;
  missing: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  serverCpuPercent: number;
  serverRssKb: number;
  /** All cores together, 0..100: near 100 means server and generator were fighting for CPU. */
  machineBusyPercent: number;
  workerCpuPercent: number[];
  publisherCpuPercent: number;
  publishFailures: number;
  firstPublishFailure?: string;
  saturated: boolean;
  saturationReason?: string;
}

export interface RateStepsResult {
  steps: RateStep[];
  /** Highest deliveries/s observed in any step. */
  peakDeliveredPerSec: number;
  /** Highest offered rate fully kept up with. */
  sustainedDeliveriesPerSec: number;
}

/**
 * A step keeps up when throughput stays within 10% of the offered rate, p99
 * stays under this bound, and nothing is lost. An overloaded server builds a
 * backlog that grows through the window, so its latency passes the bound and
 * its drain stretches the throughput denominator.
 */
const KEEP_UP_P99_MS = 500;
const KEEP_UP_SHARE = 0.9;

export async function runRateSteps(
  ctx: ScenarioContext,
  server: ServerProcess,
  publisher: Publisher,
  options: {
    label: string;
    paymentRates: readonly number[];
    subscribersPerId: number;
    batchSize: number;
    trackingIdAt: (index: number) => string;
  },
): Promise<RateStepsResult> {
  const steps: RateStep[] = [];
  for (const rate of options.paymentRates) {
    await ctx.pool.reset();
    const serverFrom = server.sample();
    const machineFrom = sampleMachine();
    let machineTo = machineFrom;
    const windowStartNs = process.hrtime.bigint();
    let windowStats: Promise<PoolStats> | undefined;
    let serverTo = serverFrom;
    const published = await publisher.paced({
      rate,
      durationMs: ctx.options.stepMs,
      batchSize: options.batchSize,
      trackingIdAt: options.trackingIdAt,
      onWindowEnd: () => {
        serverTo = server.sample();
        machineTo = sampleMachine();
        windowStats = ctx.pool.stats();
      },
    });
    const atWindowEnd = await (windowStats ?? ctx.pool.stats());
    const expected = published.accepted * options.subscribersPerId;

    // Bounded drain: stop when everything arrived or nothing moved for a while.
    let final = await ctx.pool.stats();
    const drainDeadline = Date.now() + ctx.options.drainMs;
    let lastCount = final.received;
    let lastProgress = Date.now();
    while (final.received < expected && Date.now() < drainDeadline && Date.now() - lastProgress < 3000) {
      await sleep(100);
      final = await ctx.pool.stats();
      if (final.received > lastCount) {
        lastCount = final.received;
        lastProgress = Date.now();
      }
    }

    const windowSec = ctx.options.stepMs / 1000;
    const latency = final.histogram.summary();
    const offered = rate * options.subscribersPerId;
    const deliverySpanSec = Number(final.lastReceiveNs - windowStartNs) / 1e9;
    const deliveredPerSec = final.received > 0 && deliverySpanSec > 0 ? final.received / Math.max(windowSec, deliverySpanSec) : 0;
    const step: RateStep = {
      paymentRate: rate,
      offeredDeliveriesPerSec: offered,
      publishedPerSec: round(published.sent / windowSec, 0),
      deliveredPerSec: round(deliveredPerSec, 0),
      inWindowPerSec: round(atWindowEnd.received / windowSec, 0),
      expected,
      delivered: final.received,
      missing: Math.max(0, expected - final.received),
      p50Ms: latency.p50Ms,
      p99Ms: latency.p99Ms,
      p999Ms: latency.p999Ms,
      maxMs: latency.maxMs,
      serverCpuPercent: round(cpuPercent(serverFrom, serverTo)),
      serverRssKb: server.sample().rssKb,
      machineBusyPercent: round(machineBusyPercent(machineFrom, machineTo)),
      workerCpuPercent: atWindowEnd.workerCpuPercent.map((c) => round(c)),
      publisherCpuPercent: round(published.cpuPercent),
      publishFailures: published.failedRequests,
      ...(published.firstFailure === undefined ? {} : { firstPublishFailure: published.firstFailure }),
      saturated: false,
    };
    const reasons: string[] = [];
    if (deliveredPerSec < KEEP_UP_SHARE * offered) reasons.push(`delivered ${round((100 * deliveredPerSec) / offered, 0)}% of offered`);
    if (step.p99Ms > KEEP_UP_P99_MS) reasons.push(`p99 ${step.p99Ms} ms`);
    if (step.missing > 0) reasons.push(`${step.missing} not delivered after drain`);
    if (published.failedRequests > 0) reasons.push(`${published.failedRequests} publish requests failed`);
    if (reasons.length > 0) {
      step.saturated = true;
      step.saturationReason = reasons.join("; ");
    }
    steps.push(step);
    ctx.progress(
      `  ${options.label} ${rate} payments/s → ${step.deliveredPerSec}/s delivered (offered ${offered}/s), ` +
        `p50 ${step.p50Ms} p99 ${step.p99Ms} p999 ${step.p999Ms} ms, server CPU ${step.serverCpuPercent}%, machine ${step.machineBusyPercent}%, ` +
        `workers ${step.workerCpuPercent.join("/")}%, publisher ${step.publisherCpuPercent}%` +
        (step.saturated ? ` [saturated: ${step.saturationReason}]` : ""),
    );
    if (step.saturated) break;
    if (final.closedUnexpectedly > 0) {
      ctx.progress(`  ${options.label}: ${final.closedUnexpectedly} clients dropped, stopping`);
      break;
    }
  }
  return {
    steps,
    peakDeliveredPerSec: Math.max(0, ...steps.map((s) => s.deliveredPerSec)),
    sustainedDeliveriesPerSec: Math.max(0, ...steps.filter((s) => !s.saturated).map((s) => s.offeredDeliveriesPerSec)),
  };
}
