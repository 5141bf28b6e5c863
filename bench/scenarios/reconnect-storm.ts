/**
 * Scenario: a node dies under its clients (issue 18, target 6). Clients hold
 * one subscription each while payments flow at a steady rate; the server is
 * killed with SIGKILL and started again on the same port and data directory;
 * every client reconnects and resubscribes with `since` = the last offset it
 * received. Measured: how long until all are back, how long until each has
 * every payment acknowledged for its tracking ID, and what was lost or sent
 * twice. The plain server keeps nothing, so for it the figures are the time
 * to reconnect and the payments its clients never got.
 */
import { machineBusyPercent, sampleMachine } from "../proc-stats.js";
import { Publisher } from "../publisher.js";
import { RetryingPublisher } from "../retrying-publisher.js";
import { round, sleep, SOCKET_PATH, withServer, type ScenarioContext } from "../scenario-context.js";
import type { StormClientReceipts } from "../worker-protocol.js";

export interface StormPlan {
  clients: number;
  /** Payments/s, round-robin over the clients' tracking IDs, before, during and after the restart. */
  paymentRate: number;
  /** Steady flow before the kill. */
  beforeMs: number;
  /** Steady flow after every client is back. */
  afterMs: number;
  /** The longest wait for the last deliveries once publishing stopped. */
  drainMs: number;
}

export interface ReconnectStormResult {
  clients: number;
  paymentRate: number;
  /** Kill → the new process answers its health check. */
  restartMs: number;
  /** Clients resubscribed after the kill (all of them, unless the wait ran out). */
  resubscribed: number;
  /** Kill → the last client's resubscribe acknowledged; undefined if not all came back. */
  reconnectedMs?: number;
  /** Kill → half of the clients resubscribed, and nine in ten. */
  reconnectedP50Ms?: number;
  reconnectedP90Ms?: number;
  /**
   * Kill → the last arrival of any payment acknowledged before the last
   * resubscribe, at its tracking ID's client; undefined when one of them
   * never arrived.
   */
  caughtUpMs?: number;
  acknowledged: number;
  acknowledgedBeforeResubscribed: number;
  /** Acknowledged to the publisher, never received by the tracking ID's client. */
  lost: number;
  /** Arrivals of a payment id the client already had. */
  duplicates: number;
  /** Payments received that were never acknowledged to the publisher, or reached the wrong client. */
  unexpected: number;
  reconnects: number;
  publishRetries: number;
  /** CPU of the restarted server from its start (start-up included) until every client was back. */
  serverCpuMs: number;
  /** Each load worker's CPU from the kill until every client was back, % of one core: near 100, the generator set the pace. */
  workerCpuPercent: number[];
  /** All cores, 0..100, over the same span: what else ran shows here. */
  machineBusyPercent: number;
  note?: string;
}

const POLL_MS = 50;
const RESUBSCRIBE_TIMEOUT_MS = 120_000;
const STALL_MS = 3000;
const PUBLISH_SETTLE_MS = 60_000;

/** The step's wait for every client, polled; the clock starts at the kill. */
async function waitResubscribed(ctx: ScenarioContext, killedUs: number, clients: number): Promise<{ count: number; lastUs: number }> {
  const deadline = Date.now() + RESUBSCRIBE_TIMEOUT_MS;
  let progress = await ctx.pool.stormProgress(killedUs);
  while (progress.subscribedSince < clients && Date.now() < deadline) {
    await sleep(POLL_MS);
    progress = await ctx.pool.stormProgress(killedUs);
  }
  return { count: progress.subscribedSince, lastUs: progress.lastSubscribedUs };
}

/** Waits until the clients hold `expected` distinct payments, or nothing arrived for a while. */
async function drain(ctx: ScenarioContext, expected: number): Promise<void> {
  const deadline = Date.now() + ctx.options.storm.drainMs;
  let last = (await ctx.pool.stormProgress(0)).uniqueReceived;
  let lastProgress = Date.now();
  while (last < expected && Date.now() < deadline && Date.now() - lastProgress < STALL_MS) {
    await sleep(POLL_MS);
    const now = (await ctx.pool.stormProgress(0)).uniqueReceived;
    if (now > last) {
      last = now;
      lastProgress = Date.now();
    }
  }
}

export function tallyStorm(
  acknowledged: ReadonlyMap<string, { trackingId: string; ackUs: number }>,
  clients: readonly StormClientReceipts[],
  killedUs: number,
  resubscribedUs: number | undefined,
): Pick<
  ReconnectStormResult,
  "caughtUpMs" | "acknowledgedBeforeResubscribed" | "lost" | "duplicates" | "unexpected" | "reconnects" | "reconnectedP50Ms" | "reconnectedP90Ms"
> {
  const byTrackingId = new Map(clients.map((c) => [c.trackingId, new Map(c.receipts)]));
  let lost = 0;
  let before = 0;
  let lastArrivalUs = killedUs;
  let missingBefore = false;
  for (const [id, ack] of acknowledged) {
    const arrivedUs = byTrackingId.get(ack.trackingId)?.get(id);
    if (arrivedUs === undefined) lost++;
    if (resubscribedUs === undefined || ack.ackUs > resubscribedUs) continue;
    before++;
    if (arrivedUs === undefined) missingBefore = true;
    else lastArrivalUs = Math.max(lastArrivalUs, arrivedUs);
  }
  let unexpected = 0;
  for (const [trackingId, receipts] of byTrackingId) {
    for (const id of receipts.keys()) if (acknowledged.get(id)?.trackingId !== trackingId) unexpected++;
  }
  const backUs = clients
    .map((c) => c.subscribedAtUs - killedUs)
    .filter((us) => us > 0)
    .sort((a, b) => a - b);
  const quantile = (q: number): number | undefined => backUs[Math.min(backUs.length - 1, Math.floor(q * backUs.length))];
  const p50 = quantile(0.5);
  const p90 = quantile(0.9);
  return {
    ...(resubscribedUs === undefined || missingBefore ? {} : { caughtUpMs: round((lastArrivalUs - killedUs) / 1000) }),
    ...(p50 === undefined ? {} : { reconnectedP50Ms: round(p50 / 1000) }),
    ...(p90 === undefined ? {} : { reconnectedP90Ms: round(p90 / 1000) }),
    acknowledgedBeforeResubscribed: before,
    lost,
    duplicates: clients.reduce((n, c) => n + c.duplicates, 0),
    unexpected,
    reconnects: clients.reduce((n, c) => n + c.reconnectAttempts, 0),
  };
}

export async function runReconnectStorm(ctx: ScenarioContext): Promise<ReconnectStormResult> {
  const plan = ctx.options.storm;
  return withServer(ctx, async (server) => {
    const ids = Array.from({ length: plan.clients }, (_, i) => `${ctx.runTag}-storm${i}`);
    const connected = await ctx.pool.stormConnect({
      baseUrl: server.wsBaseUrl,
      path: SOCKET_PATH,
      trackingIds: ids,
      concurrencyPerWorker: ctx.options.connectConcurrency,
      timeoutMs: Math.max(30_000, plan.clients * 10),
    });
    if (connected.subscribed !== plan.clients) {
      throw new Error(`reconnect-storm: only ${connected.subscribed}/${plan.clients} subscribed (${connected.firstError ?? "?"})`);
    }
    const http = new Publisher(server.baseUrl, ctx.apiKey);
    const publisher = new RetryingPublisher(http);
    try {
      publisher.start({ rate: plan.paymentRate, tickMs: ctx.options.publishIntervalMs, trackingIdAt: (i) => ids[i % ids.length] ?? "" });
      // The steady flow the storm interrupts; its length is part of the load, not a wait for an event.
      await sleep(plan.beforeMs);
      ctx.progress(`  reconnect-storm: ${plan.clients} clients, ${publisher.acknowledged.size} payments acknowledged; killing the server`);
      await ctx.pool.reset();
      const machineFrom = sampleMachine();
      const { killedNs, healthyNs } = await server.crashAndRestart();
      const killedUs = Number(killedNs / 1000n);
      const back = await waitResubscribed(ctx, killedUs, plan.clients);
      const cpuTo = server.sample();
      const machineTo = sampleMachine();
      const generator = await ctx.pool.stats();
      const allBack = back.count === plan.clients;
      ctx.progress(`  reconnect-storm: ${back.count}/${plan.clients} resubscribed ${round((back.lastUs - killedUs) / 1000)} ms after the kill`);
      await sleep(plan.afterMs);
      const settled = await publisher.stop(PUBLISH_SETTLE_MS);
      await drain(ctx, publisher.acknowledged.size);
      const receipts = await ctx.pool.stormReceipts();
      const tally = tallyStorm(publisher.acknowledged, receipts, killedUs, allBack ? back.lastUs : undefined);
      const notes: string[] = [];
      if (!settled) notes.push(`publisher still had unacknowledged payments after ${PUBLISH_SETTLE_MS} ms`);
      if (publisher.rejected > 0) notes.push(`${publisher.rejected} publish requests refused: ${publisher.firstRejection ?? ""}`);
      if (tally.unexpected > 0) notes.push(`${tally.unexpected} payments received that were not acknowledged for that client's tracking ID`);
      const result: ReconnectStormResult = {
        clients: plan.clients,
        paymentRate: plan.paymentRate,
        restartMs: round(Number(healthyNs - killedNs) / 1e6),
        resubscribed: back.count,
        ...(allBack ? { reconnectedMs: round((back.lastUs - killedUs) / 1000) } : {}),
        acknowledged: publisher.acknowledged.size,
        publishRetries: publisher.retries,
        // A new process starts at zero CPU, and clients may be back before its health check answers.
        serverCpuMs: round(cpuTo.cpuMs, 0),
        workerCpuPercent: generator.workerCpuPercent.map((c) => round(c)),
        machineBusyPercent: round(machineBusyPercent(machineFrom, machineTo)),
        ...tally,
        ...(notes.length > 0 ? { note: notes.join("; ") } : {}),
      };
      ctx.progress(
        `  reconnect-storm: restart ${result.restartMs} ms, resubscribed p50 ${result.reconnectedP50Ms ?? "?"} p90 ${result.reconnectedP90Ms ?? "?"} all ${result.reconnectedMs ?? "never"} ms, ` +
          `caught up ${result.caughtUpMs === undefined ? "never" : `${result.caughtUpMs} ms`} after the kill; ${result.lost} of ${result.acknowledged} lost, ` +
          `${result.duplicates} duplicates, ${result.publishRetries} publish retries; server CPU ${result.serverCpuMs} ms since its start, workers ${result.workerCpuPercent.join("/")}%, machine ${result.machineBusyPercent}%` +
          (result.note === undefined ? "" : ` (${result.note})`),
      );
      return result;
    } finally {
      await publisher.stop(0).catch(() => undefined);
      http.close();
    }
  });
}
