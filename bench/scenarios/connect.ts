/**
 * Scenario 1: N clients connect and subscribe, each to its own tracking ID.
 *
 * Memory method: the server starts fresh, idles for the settle period, and is
 * then forced through a full GC over its inspector (see inspector-gc.ts); RSS
 * and heapUsed are read. After all clients are subscribed the same settle +
 * GC + read is repeated. Per-connection cost is the delta divided by N. RSS
 * without the forced GC is kept too, as the figure an operator would see.
 */
import { profileLine, profileStep, type StepProfile } from "../cpu-profile.js";
import { collectGarbage, type HeapFigures } from "../inspector-gc.js";
import { ephemeralPortCount, openFileLimit, cpuPercent } from "../proc-stats.js";
import { round, sleep, SOCKET_PATH, withServer, type ScenarioContext } from "../scenario-context.js";
import type { ServerProcess } from "../server-process.js";

export interface ConnectResult {
  /** Clients connected in this step: the count asked for, or less when the machine cannot hold that many (see cappedBy). */
  clients: number;
  /** The count asked for, when the step ran with fewer. */
  requested?: number;
  /** Why the step ran with fewer clients than asked for. */
  cappedBy?: string;
  skipped?: string;
  subscribed?: number;
  failed?: number;
  firstError?: string;
  elapsedMs?: number;
  connectsPerSec?: number;
  serverCpuPercent?: number;
  /**
   * CPU per connect and subscribe, server and generator: what sets the rate
   * on any machine, where connects/s also depends on what else ran.
   */
  serverCpuUsPerConnect?: number;
  generatorCpuUsPerConnect?: number;
  rssBeforeKb?: number;
  rssAfterKb?: number;
  rssPerConnKb?: number;
  rssPerConnNoGcKb?: number;
  heapPerConnKb?: number;
  gcMethod?: string;
  workerCpuPercent?: number[];
  /** With --cpu-profile: each server process's main thread while the clients connected, its file and the top of it. */
  cpuProfiles?: StepProfile[];
}

/** Room for the listening socket, the database, logs and inspector. */
const FD_MARGIN = 200;
/** A capped step runs a round number of clients. */
const CAP_STEP = 500;

/** How many clients this machine lets the step connect, and what limits it; undefined when the count asked for fits. */
export function connectCapacity(
  clients: number,
  serverPid: number,
  sourceAddresses: number,
  serverProcesses: number,
): { max: number; reason: string } | undefined {
  const fdLimit = openFileLimit(serverPid);
  // Each worker process of the server holds its own clients under its own limit.
  const descriptors = (fdLimit - FD_MARGIN) * serverProcesses;
  // Each load worker connects from a loopback address of its own, with its own ephemeral ports.
  const ports = ephemeralPortCount() * sourceAddresses;
  const limits = [
    {
      max: descriptors,
      reason: `server open-file limit is ${fdLimit} per process${serverProcesses > 1 ? `, ${serverProcesses} processes` : ""} (hard limit in this environment; raising it needs CAP_SYS_RESOURCE)`,
    },
    { max: ports, reason: `only ${ports} ephemeral ports from ${sourceAddresses} source addresses towards one port` },
  ];
  const tightest = limits.reduce((a, b) => (b.max < a.max ? b : a));
  if (clients <= tightest.max) return undefined;
  return { max: Math.floor(tightest.max / CAP_STEP) * CAP_STEP, reason: tightest.reason };
}

async function measureMemory(server: ServerProcess): Promise<{ rssKb: number; heap?: HeapFigures; error?: string }> {
  try {
    const heaps = await Promise.all(server.heapInspectPorts.map((port) => collectGarbage(port)));
    const heap = {
      heapUsedKb: heaps.reduce((total, each) => total + each.heapUsedKb, 0),
      externalKb: heaps.reduce((total, each) => total + each.externalKb, 0),
    };
    return { rssKb: server.sample().rssKb, heap };
  } catch (error) {
    return { rssKb: server.sample().rssKb, error: error instanceof Error ? error.message : String(error) };
  }
}

export async function runConnect(ctx: ScenarioContext, requested: number): Promise<ConnectResult> {
  return withServer(ctx, async (server) => {
    // Where the machine cannot hold the count asked for, the step runs as many as it can rather than nothing.
    const capacity = connectCapacity(requested, server.pid, ctx.pool.size, server.spec.workers);
    if (capacity !== undefined && capacity.max < CAP_STEP) {
      ctx.progress(`  connect ${requested}: skipped, ${capacity.reason}`);
      return { clients: requested, skipped: capacity.reason };
    }
    const clients = capacity?.max ?? requested;
    const capped = capacity === undefined ? {} : { requested, cappedBy: capacity.reason };
    if (capacity !== undefined) ctx.progress(`  connect ${requested}: running ${clients} instead, ${capacity.reason}`);
    await sleep(ctx.options.settleMs);
    const before = await measureMemory(server);
    const subscriptions = Array.from({ length: clients }, (_, i) => ({ trackingId: `${ctx.runTag}-c${i}` }));
    await ctx.pool.reset();
    const cpuFrom = server.sample();
    const stopProfiles = await profileStep(ctx.options.cpuProfileDir, server.heapInspectPorts, `${ctx.target.name}-connect-${clients}`);
    const connected = await ctx.pool.connect({
      baseUrl: server.wsBaseUrl,
      path: SOCKET_PATH,
      subscriptions,
      concurrencyPerWorker: ctx.options.connectConcurrency,
      timeoutMs: Math.max(30_000, clients * 10),
    });
    const cpuTo = server.sample();
    const cpuProfiles = await stopProfiles?.();
    const generator = await ctx.pool.stats();
    const rssNoGc = server.sample().rssKb;
    await sleep(ctx.options.settleMs);
    const after = await measureMemory(server);
    const n = Math.max(1, connected.subscribed);
    const result: ConnectResult = {
      clients,
      ...capped,
      subscribed: connected.subscribed,
      failed: connected.failed,
      ...(connected.firstError === undefined ? {} : { firstError: connected.firstError }),
      elapsedMs: round(connected.elapsedMs),
      connectsPerSec: round((connected.subscribed * 1000) / connected.elapsedMs, 0),
      serverCpuPercent: round(cpuPercent(cpuFrom, cpuTo)),
      serverCpuUsPerConnect: round(((cpuTo.cpuMs - cpuFrom.cpuMs) * 1000) / n, 0),
      // The workers' CPU since the reset just before the connect.
      generatorCpuUsPerConnect: round(generator.workerCpuUs / n, 0),
      rssBeforeKb: before.rssKb,
      rssAfterKb: after.rssKb,
      rssPerConnKb: round((after.rssKb - before.rssKb) / n, 2),
      rssPerConnNoGcKb: round((rssNoGc - before.rssKb) / n, 2),
      gcMethod:
        before.heap && after.heap
          ? "inspector HeapProfiler.collectGarbage x2 after settle"
          : `settle only (GC failed: ${before.error ?? after.error ?? "?"})`,
      workerCpuPercent: generator.workerCpuPercent.map((c) => round(c)),
      ...(cpuProfiles === undefined ? {} : { cpuProfiles }),
    };
    if (before.heap && after.heap) result.heapPerConnKb = round((after.heap.heapUsedKb - before.heap.heapUsedKb) / n, 2);
    ctx.progress(
      `  connect ${clients}: ${result.subscribed} subscribed (${result.failed} failed) in ${result.elapsedMs} ms, ` +
        `${result.connectsPerSec}/s, RSS ${result.rssPerConnKb} KB/conn after GC, heap ${result.heapPerConnKb ?? "?"} KB/conn`,
    );
    for (const profile of cpuProfiles ?? []) ctx.progress(`    ${profileLine(profile)}`);
    return result;
  });
}
