/**
 * Scenario 5: payments are stored first, then one client subscribes with
 * `since: 0`; the time runs from its subscribe to its last replayed payment.
 * A server that does not replay (the baseline, or the service before replay
 * lands) sends nothing, which is reported as n/a rather than as a time.
 */
import { Publisher } from "../publisher.js";
import { round, sleep, SOCKET_PATH, withServer, type ScenarioContext } from "../scenario-context.js";

export interface ReplayResult {
  stored: number;
  received: number;
  timeToAllMs?: number;
  paymentsPerSec?: number;
  notApplicable?: string;
  otherEvents: Record<string, number>;
}

/** Replay starts right after the ack on a server that has it; silence this long means it has none. */
const FIRST_PAYMENT_TIMEOUT_MS = 2000;
const STALL_TIMEOUT_MS = 5000;

export async function runReplay(ctx: ScenarioContext): Promise<ReplayResult> {
  return withServer(ctx, async (server) => {
    const trackingId = `${ctx.runTag}-replay`;
    const total = ctx.options.replayCount;
    const publisher = new Publisher(server.baseUrl, ctx.apiKey, 1);
    let stored = 0;
    try {
      for (let sent = 0; sent < total; sent += 1000) {
        const size = Math.min(1000, total - sent);
        const response = await publisher.post(publisher.buildBody(Array.from({ length: size }, () => trackingId)));
        if (response.status !== 200 && response.status !== 201) {
          throw new Error(`replay: storing payments failed: HTTP ${response.status} ${response.body.slice(0, 200)}`);
        }
        stored += size;
      }
    } finally {
      publisher.close();
    }

    await ctx.pool.reset();
    const connected = await ctx.pool.connect({
      baseUrl: server.wsBaseUrl,
      path: SOCKET_PATH,
      subscriptions: [{ trackingId, since: 0 }],
      concurrencyPerWorker: 1,
      timeoutMs: 30_000,
    });
    if (connected.subscribed !== 1) throw new Error(`replay: subscribe failed (${connected.firstError ?? "?"})`);

    let stats = await ctx.pool.stats();
    const started = Date.now();
    let lastCount = stats.received;
    let lastProgress = started;
    while (stats.received < stored) {
      const now = Date.now();
      if (stats.received === 0 && now - started > FIRST_PAYMENT_TIMEOUT_MS) break;
      if (now - lastProgress > STALL_TIMEOUT_MS) break;
      await sleep(50);
      stats = await ctx.pool.stats();
      if (stats.received > lastCount) {
        lastCount = stats.received;
        lastProgress = Date.now();
      }
    }

    const result: ReplayResult = { stored, received: stats.received, otherEvents: stats.otherEvents };
    if (stats.received === 0) {
      result.notApplicable = "server sent no payments for since: 0";
    } else if (stats.received < stored) {
      result.notApplicable = `incomplete: ${stats.received}/${stored} replayed before the stream stalled`;
    } else {
      const ms = Number(stats.lastReceiveNs - connected.lastSubscribeNs) / 1e6;
      result.timeToAllMs = round(ms);
      result.paymentsPerSec = round((stats.received * 1000) / ms, 0);
    }
    ctx.progress(
      `  replay ${stored} stored: ` +
        (result.timeToAllMs !== undefined
          ? `all received in ${result.timeToAllMs} ms (${result.paymentsPerSec}/s)`
          : `n/a (${result.notApplicable ?? ""})`),
    );
    return result;
  });
}
