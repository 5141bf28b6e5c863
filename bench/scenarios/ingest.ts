/**
 * Scenario 4: how many payments/s the HTTP publish path makes durable. The
 * service answers only after its store committed, so accepted = durable. No
 * subscribers, so delivery cost is left out.
 */
import { cpuPercent } from "../proc-stats.js";
import { Publisher } from "../publisher.js";
import { round, withServer, type ScenarioContext } from "../scenario-context.js";

export interface IngestPlan {
  batchSize: number;
  concurrency: number;
}

export interface IngestResult extends IngestPlan {
  paymentsPerSec: number;
  requestsPerSec: number;
  accepted: number;
  failedRequests: number;
  firstFailure?: string;
  serverCpuPercent: number;
  publisherCpuPercent: number;
}

export async function runIngest(ctx: ScenarioContext, plan: IngestPlan): Promise<IngestResult> {
  return withServer(ctx, async (server) => {
    const publisher = new Publisher(server.baseUrl, ctx.apiKey, plan.concurrency);
    try {
      const from = server.sample();
      const outcome = await publisher.closedLoop({
        durationMs: ctx.options.ingestMs,
        batchSize: plan.batchSize,
        concurrency: plan.concurrency,
        // Spread over many IDs, as real traffic is; one hot ID would measure per-ID offset contention instead.
        trackingIdAt: (i) => `${ctx.runTag}-i${i % 1000}`,
      });
      const to = server.sample();
      const seconds = outcome.elapsedMs / 1000;
      const result: IngestResult = {
        ...plan,
        paymentsPerSec: round(outcome.accepted / seconds, 0),
        requestsPerSec: round(outcome.accepted / plan.batchSize / seconds, 0),
        accepted: outcome.accepted,
        failedRequests: outcome.failedRequests,
        ...(outcome.firstFailure === undefined ? {} : { firstFailure: outcome.firstFailure }),
        serverCpuPercent: round(cpuPercent(from, to)),
        publisherCpuPercent: round(outcome.cpuPercent),
      };
      ctx.progress(
        `  ingest batch ${plan.batchSize} x${plan.concurrency} in flight: ${result.paymentsPerSec} payments/s ` +
          `(${result.requestsPerSec} req/s), server CPU ${result.serverCpuPercent}%` +
          (result.failedRequests > 0 ? `, ${result.failedRequests} failed: ${result.firstFailure ?? ""}` : ""),
      );
      return result;
    } finally {
      publisher.close();
    }
  });
}
