/**
 * Scenario 6: webhook delivery to a fast receiver on loopback (it answers 204
 * at once). Payments are published in batches; each is timed from the moment
 * its publish was answered (the store had committed it) to its arrival at the
 * receiver. deliveries/s = messages / (last arrival − first publish).
 */
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Publisher, stampUs } from "../publisher.js";
import { round, sleep, withServer, type ScenarioContext } from "../scenario-context.js";

export interface WebhookBenchResult {
  payments: number;
  delivered: number;
  deliveriesPerSec?: number;
  commitToReceiverP50Ms?: number;
  commitToReceiverP99Ms?: number;
  commitToReceiverMaxMs?: number;
  /** Deliveries under a webhook-id already seen: a retry or a takeover. */
  repeats: number;
  notApplicable?: string;
}

const BATCH = 100;
const IN_FLIGHT = 4;
const STALL_TIMEOUT_MS = 10_000;

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;

export async function runWebhooks(ctx: ScenarioContext): Promise<WebhookBenchResult> {
  return withServer(ctx, async (server) => {
    const arrivals = new Map<string, number>();
    let repeats = 0;
    const receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const at = stampUs();
        const id = (JSON.parse(Buffer.concat(chunks).toString()) as { data: { id: string } }).data.id;
        if (arrivals.has(id)) repeats++;
        else arrivals.set(id, at);
        response.writeHead(204).end();
      });
    });
    receiver.listen(0, "127.0.0.1");
    await once(receiver, "listening");
    const publisher = new Publisher(server.baseUrl, ctx.apiKey, IN_FLIGHT);
    try {
      const created = await fetch(`${server.baseUrl}/v1/webhooks`, {
        method: "POST",
        headers: { authorization: `Bearer ${ctx.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, filter: { all: true } }),
      });
      if (created.status !== 201) {
        return { payments: 0, delivered: 0, repeats: 0, notApplicable: `POST /v1/webhooks answered ${created.status}` };
      }
      const total = ctx.options.webhookCount;
      const committedAt = new Map<string, number>();
      const startedAt = stampUs();
      let next = 0;
      const publishLoop = async () => {
        while (next < total) {
          const size = Math.min(BATCH, total - next);
          const first = next;
          next += size;
          const ids = Array.from({ length: size }, (_, i) => `${ctx.runTag}-w${(first + i) % 100}`);
          const response = await publisher.post(publisher.buildBody(ids));
          const answeredAt = stampUs();
          if (response.status !== 200) throw new Error(`webhooks: publishing failed: HTTP ${response.status} ${response.body.slice(0, 200)}`);
          for (const payment of (JSON.parse(response.body) as { payments: { id: string }[] }).payments) committedAt.set(payment.id, answeredAt);
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, publishLoop));
      let lastCount = -1;
      let lastProgress = Date.now();
      while (arrivals.size < total && Date.now() - lastProgress < STALL_TIMEOUT_MS) {
        if (arrivals.size !== lastCount) {
          lastCount = arrivals.size;
          lastProgress = Date.now();
        }
        await sleep(20);
      }
      const result: WebhookBenchResult = { payments: total, delivered: arrivals.size, repeats };
      if (arrivals.size < total) {
        result.notApplicable = `incomplete: ${arrivals.size}/${total} delivered before deliveries stalled`;
      } else {
        // A webhook may arrive before the publisher has read its HTTP answer; that counts as 0 ms.
        const latencies = [...arrivals].map(([id, at]) => Math.max(0, at - (committedAt.get(id) ?? at)) / 1000).sort((a, b) => a - b);
        const lastArrival = Math.max(...arrivals.values());
        result.deliveriesPerSec = round((total * 1e6) / (lastArrival - startedAt), 0);
        result.commitToReceiverP50Ms = round(percentile(latencies, 0.5));
        result.commitToReceiverP99Ms = round(percentile(latencies, 0.99));
        result.commitToReceiverMaxMs = round(latencies.at(-1) ?? NaN);
      }
      ctx.progress(
        `  webhooks ${total} payments: ` +
          (result.deliveriesPerSec !== undefined
            ? `${result.deliveriesPerSec} deliveries/s, commit → receiver p50 ${result.commitToReceiverP50Ms} ms, p99 ${result.commitToReceiverP99Ms} ms, max ${result.commitToReceiverMaxMs} ms, ${repeats} repeats`
            : `n/a (${result.notApplicable ?? ""})`),
      );
      return result;
    } finally {
      publisher.close();
      receiver.closeAllConnections();
      receiver.close();
    }
  });
}
