/**
 * The open-loop stepping shared by unicast and fan-out: publish at a rate for
 * a window, count what arrived within the window (throughput), let the rest
 * drain (latency of every delivery), then step up until the server no longer
 * keeps up.
 */
import { profileLine, profileStep, type StepProfile } from "../cpu-profile.js";
import { diskActivity, sampleDisk } from "../disk-stats.js";
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
  /** The part of serverCpuPercent on the server processes' main threads: their event loops (absent in older reports). */
  serverMainThreadCpuPercent?: number;
  /** Deliveries inside the publish window per CPU-second the server's process tree used in that window. */
  deliveriesPerServerCpuSec?: number;
  /** Payments the publisher had acknowledged by the end of the window. */
  acknowledgedInWindow: number;
  /** Bytes the server's process tree wrote towards storage in the window (/proc/<pid>/io write_bytes). */
  writeBytesInWindow?: number;
  /** writeBytesInWindow / acknowledgedInWindow: what storing one payment cost the disk (~0 for the baseline). */
  writeBytesPerPayment?: number;
  serverRssKb: number;
  /** All cores together, 0..100: near 100 means server and generator were fighting for CPU. */
  machineBusyPercent: number;
  /** Share of the window the data directory's disk had I/O in flight (all processes, this machine's neighbours' load included). */
  diskBusyPercent?: number;
  /** Average ms a write request to that disk took in the window: when it is high, group commits waited on the disk. */
  diskWriteAwaitMs?: number;
  workerCpuPercent: number[];
  publisherCpuPercent: number;
  publishFailures: number;
  firstPublishFailure?: string;
  saturated: boolean;
  saturationReason?: string;
  /** With --cpu-profile: each server process's main thread over the window, its file and the top of it. */
  cpuProfiles?: StepProfile[];
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

function keptUpBeforeSaturation(steps: readonly RateStep[]): RateStep[] {
  const first = steps.findIndex((s) => s.saturated);
  return first < 0 ? [...steps] : steps.slice(0, first);
}

export async function runRateSteps(
  ctx: ScenarioContext,
  server: ServerProcess,
  publisher: Publisher,
  options: {
    label: string;
    paymentRates: readonly number[];
    subscribersPerId: number;
    batchSize: number;
    /** Publish every this many ms (the publisher's default otherwise). */
    tickMs?: number;
    /** Steps up to this rate run even after a saturated one, so figures judged there always exist. */
    runThroughRate?: number;
    trackingIdAt: (index: number) => string;
  },
): Promise<RateStepsResult> {
  const steps: RateStep[] = [];
  for (const rate of options.paymentRates) {
    const mustRun = rate <= (options.runThroughRate ?? 0);
    if (steps.some((s) => s.saturated) && !mustRun) break;
    await ctx.pool.reset();
    const serverFrom = server.sample();
    const machineFrom = sampleMachine();
    let machineTo = machineFrom;
    const disk = server.diskDevice;
    const diskFrom = disk === undefined ? undefined : sampleDisk(disk);
    let diskTo = diskFrom;
    const windowStartNs = process.hrtime.bigint();
    let windowStats: Promise<PoolStats> | undefined;
    let serverTo = serverFrom;
    let acknowledgedInWindow = 0;
    const stopProfiles = await profileStep(ctx.options.cpuProfileDir, server.heapInspectPorts, `${ctx.target.name}-${options.label}-${rate}`);
    let profiled: Promise<StepProfile[]> | undefined;
    const published = await publisher.paced({
      rate,
      durationMs: ctx.options.stepMs,
      batchSize: options.batchSize,
      ...(options.tickMs === undefined ? {} : { tickMs: options.tickMs }),
      trackingIdAt: options.trackingIdAt,
      onWindowEnd: (acknowledged) => {
        acknowledgedInWindow = acknowledged;
        serverTo = server.sample();
        machineTo = sampleMachine();
        diskTo = disk === undefined ? undefined : sampleDisk(disk);
        windowStats = ctx.pool.stats();
        profiled = stopProfiles?.();
      },
    });
    const atWindowEnd = await (windowStats ?? ctx.pool.stats());
    // Stopped at the window's end; here at the latest, so that no profiler outlives its step.
    profiled ??= stopProfiles?.();
    const cpuProfiles = await profiled;
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
    const serverCpuSec = (serverTo.cpuMs - serverFrom.cpuMs) / 1000;
    const writeBytesInWindow = serverTo.writeBytes - serverFrom.writeBytes;
    const latency = final.histogram.summary();
    const diskInWindow = diskFrom !== undefined && diskTo !== undefined ? diskActivity(diskFrom, diskTo) : undefined;
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
      serverMainThreadCpuPercent: round(cpuPercent(serverFrom, serverTo, true)),
      ...(serverCpuSec > 0 ? { deliveriesPerServerCpuSec: round(atWindowEnd.received / serverCpuSec, 0) } : {}),
      acknowledgedInWindow,
      ...(Number.isFinite(writeBytesInWindow) ? { writeBytesInWindow } : {}),
      ...(Number.isFinite(writeBytesInWindow) && acknowledgedInWindow > 0
        ? { writeBytesPerPayment: round(writeBytesInWindow / acknowledgedInWindow, 0) }
        : {}),
      serverRssKb: server.sample().rssKb,
      machineBusyPercent: round(machineBusyPercent(machineFrom, machineTo)),
      ...(diskInWindow === undefined
        ? {}
        : { diskBusyPercent: round(diskInWindow.busyPercent), diskWriteAwaitMs: round(diskInWindow.writeAwaitMs, 2) }),
      workerCpuPercent: atWindowEnd.workerCpuPercent.map((c) => round(c)),
      publisherCpuPercent: round(published.cpuPercent),
      publishFailures: published.failedRequests,
      ...(published.firstFailure === undefined ? {} : { firstPublishFailure: published.firstFailure }),
      saturated: false,
      ...(cpuProfiles === undefined ? {} : { cpuProfiles }),
    };
    const reasons: string[] = [];
    if (deliveredPerSec < KEEP_UP_SHARE * offered) reasons.push(`delivered ${round((100 * deliveredPerSec) / offered, 0)}% of offered`);
    if (step.p99Ms > KEEP_UP_P99_MS) reasons.push(`p99 ${step.p99Ms} ms`);
    if (step.missing > 0) reasons.push(`${step.missing} not delivered after drain`);
    if (published.failedRequests > 0) {
      const first = published.firstFailure === undefined ? "" : ` (first: ${published.firstFailure})`;
      reasons.push(`${published.failedRequests} publish requests failed${first}`);
    }
    if (reasons.length > 0) {
      step.saturated = true;
      step.saturationReason = reasons.join("; ");
    }
    steps.push(step);
    ctx.progress(
      `  ${options.label} ${rate} payments/s → ${step.deliveredPerSec}/s delivered (offered ${offered}/s), ` +
        `p50 ${step.p50Ms} p99 ${step.p99Ms} p999 ${step.p999Ms} ms, server CPU ${step.serverCpuPercent}% ` +
        `(main thread ${step.serverMainThreadCpuPercent}%, ${step.deliveriesPerServerCpuSec ?? "?"} deliveries/CPU-s, ${step.writeBytesPerPayment ?? "?"} B written/payment), machine ${step.machineBusyPercent}%, ` +
        (step.diskBusyPercent === undefined ? "" : `disk busy ${step.diskBusyPercent}% (writes wait ${step.diskWriteAwaitMs} ms), `) +
        `workers ${step.workerCpuPercent.join("/")}%, publisher ${step.publisherCpuPercent}%` +
        (step.saturated ? ` [saturated: ${step.saturationReason}]` : ""),
    );
    for (const profile of step.cpuProfiles ?? []) ctx.progress(`    ${profileLine(profile)}`);
    if (step.saturated && rate >= (options.runThroughRate ?? 0)) break;
    if (final.closedUnexpectedly > 0) {
      ctx.progress(`  ${options.label}: ${final.closedUnexpectedly} clients dropped, stopping`);
      break;
    }
  }
  return {
    steps,
    peakDeliveredPerSec: Math.max(0, ...steps.map((s) => s.deliveredPerSec)),
    // Steps run past a saturated one (runThroughRate) do not count as kept up with.
    sustainedDeliveriesPerSec: Math.max(0, ...keptUpBeforeSaturation(steps).map((s) => s.offeredDeliveriesPerSec)),
  };
}
