/** Scenario 2: every payment goes to its own tracking ID's single subscriber. */
import { Publisher } from "../publisher.js";
import { SOCKET_PATH, withServer, type ScenarioContext } from "../scenario-context.js";
import { runRateSteps, type RateStepsResult } from "./rate-steps.js";

export interface UnicastResult extends RateStepsResult {
  subscribers: number;
  connectFailures: number;
}

export async function runUnicast(ctx: ScenarioContext): Promise<UnicastResult> {
  return withServer(ctx, async (server) => {
    const subscribers = ctx.options.unicastSubscribers;
    const ids = Array.from({ length: subscribers }, (_, i) => `${ctx.runTag}-u${i}`);
    const connected = await ctx.pool.connect({
      baseUrl: server.wsBaseUrl,
      path: SOCKET_PATH,
      subscriptions: ids.map((trackingId) => ({ trackingId })),
      concurrencyPerWorker: ctx.options.connectConcurrency,
      timeoutMs: 60_000,
    });
    if (connected.subscribed !== subscribers) {
      throw new Error(`unicast: only ${connected.subscribed}/${subscribers} subscribed (${connected.firstError ?? "?"})`);
    }
    const publisher = new Publisher(server.baseUrl, ctx.apiKey);
    try {
      const result = await runRateSteps(ctx, server, publisher, {
        label: "unicast",
        paymentRates: ctx.options.unicastRates,
        subscribersPerId: 1,
        batchSize: ctx.options.publishBatch,
        trackingIdAt: (i) => ids[i % ids.length] ?? "",
      });
      return { ...result, subscribers, connectFailures: connected.failed };
    } finally {
      publisher.close();
    }
  });
}
