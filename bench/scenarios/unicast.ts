/**
 * Scenario 2: every payment goes to one subscriber, the only one on its
 * tracking ID, picked at random; the publisher sends what is due every
 * `publishIntervalMs` as one request (issue 18's shape). With
 * `unicastIdsPerClient` above 1 each client watches that many tracking IDs,
 * so payments spread over many more of them, each paid rarely, as in real
 * traffic, while each still reaches exactly one subscriber.
 */
import { REQUIRED_UNICAST_RATES } from "../bench-options.js";
import { Publisher } from "../publisher.js";
import { SOCKET_PATH, withServer, type ScenarioContext } from "../scenario-context.js";
import { runRateSteps, type RateStepsResult } from "./rate-steps.js";

export interface UnicastResult extends RateStepsResult {
  subscribers: number;
  /** Tracking IDs the payments were spread over, each watched by one subscriber. */
  trackingIds: number;
  connectFailures: number;
  publishIntervalMs: number;
}

/** The service takes at most this many payments per request. */
const MAX_PUBLISH_BATCH = 1000;

export async function runUnicast(ctx: ScenarioContext): Promise<UnicastResult> {
  return withServer(ctx, async (server) => {
    const subscribers = ctx.options.unicastSubscribers;
    const perClient = ctx.options.unicastIdsPerClient;
    const ids = Array.from({ length: subscribers * perClient }, (_, i) => `${ctx.runTag}-u${i}`);
    const connected = await ctx.pool.connect({
      baseUrl: server.wsBaseUrl,
      path: SOCKET_PATH,
      subscriptions: ids.map((trackingId) => ({ trackingId })),
      subscriptionsPerClient: perClient,
      concurrencyPerWorker: ctx.options.connectConcurrency,
      timeoutMs: 60_000 * perClient,
    });
    if (connected.subscribed !== ids.length) {
      throw new Error(`unicast: only ${connected.subscribed}/${ids.length} subscribed (${connected.firstError ?? "?"})`);
    }
    const publisher = new Publisher(server.baseUrl, ctx.apiKey);
    const rates = [...new Set([...ctx.options.unicastRates, ...REQUIRED_UNICAST_RATES])].sort((a, b) => a - b);
    try {
      const result = await runRateSteps(ctx, server, publisher, {
        label: "unicast",
        paymentRates: rates,
        subscribersPerId: 1,
        batchSize: MAX_PUBLISH_BATCH,
        tickMs: ctx.options.publishIntervalMs,
        runThroughRate: Math.max(...REQUIRED_UNICAST_RATES),
        trackingIdAt: () => ids[Math.floor(Math.random() * ids.length)] ?? "",
      });
      return {
        ...result,
        subscribers,
        trackingIds: ids.length,
        connectFailures: connected.failed,
        publishIntervalMs: ctx.options.publishIntervalMs,
      };
    } finally {
      publisher.close();
    }
  });
}
