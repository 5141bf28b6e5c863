/** Scenario 3: a few hot tracking IDs, each with many subscribers. */
import { Publisher } from "../publisher.js";
import { SOCKET_PATH, withServer, type ScenarioContext } from "../scenario-context.js";
import { runRateSteps, type RateStepsResult } from "./rate-steps.js";

export interface FanOutPlan {
  subscribersPerId: number;
  hotIds: number;
  paymentRates: number[];
}

export interface FanOutResult extends RateStepsResult {
  subscribersPerId: number;
  hotIds: number;
}

export async function runFanOut(ctx: ScenarioContext, plan: FanOutPlan): Promise<FanOutResult> {
  return withServer(ctx, async (server) => {
    const ids = Array.from({ length: plan.hotIds }, (_, i) => `${ctx.runTag}-hot${plan.subscribersPerId}-${i}`);
    const subscriptions = ids.flatMap((trackingId) =>
      Array.from({ length: plan.subscribersPerId }, () => ({ trackingId })),
    );
    const connected = await ctx.pool.connect({
      baseUrl: server.wsBaseUrl,
      path: SOCKET_PATH,
      subscriptions,
      concurrencyPerWorker: ctx.options.connectConcurrency,
      timeoutMs: 60_000,
    });
    if (connected.subscribed !== subscriptions.length) {
      throw new Error(`fan-out: only ${connected.subscribed}/${subscriptions.length} subscribed (${connected.firstError ?? "?"})`);
    }
    const publisher = new Publisher(server.baseUrl, ctx.apiKey);
    try {
      const result = await runRateSteps(ctx, server, publisher, {
        label: `fan-out ${plan.subscribersPerId}`,
        paymentRates: plan.paymentRates,
        subscribersPerId: plan.subscribersPerId,
        batchSize: ctx.options.publishBatch,
        trackingIdAt: (i) => ids[i % ids.length] ?? "",
      });
      return { ...result, subscribersPerId: plan.subscribersPerId, hotIds: plan.hotIds };
    } finally {
      publisher.close();
    }
  });
}
