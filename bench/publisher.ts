/**
 * Publishes payments over HTTP: paced (open loop, for delivery scenarios, so
 * a slow server shows as latency rather than a lower offered rate) or as fast
 * as responses come back (closed loop, for ingest throughput).
 *
 * Every payment's amount is the publish moment as process.hrtime in µs; see
 * load-worker.ts for why that clock is shared with the receivers.
 */
import { Agent, request } from "node:http";
import { SignatureSource } from "./signature-source.js";

export interface PublishOutcome {
  /** Payments sent in requests. */
  sent: number;
  /** Payments in requests answered 200/201. */
  accepted: number;
  failedRequests: number;
  firstFailure?: string;
  elapsedMs: number;
  /** This process's CPU over the run, % of one core. */
  cpuPercent: number;
  /** Paced mode only: times the in-flight cap held back due payments. */
  throttledTicks: number;
}

interface Response {
  status: number;
  body: string;
}

export function stampUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export class Publisher {
  private readonly agent: Agent;
  private readonly signatures = new SignatureSource();
  private readonly url: URL;

  constructor(
    baseUrl: string,
    private readonly apiKey: string,
    private readonly maxInFlight = 64,
  ) {
    this.url = new URL("/v1/payments", baseUrl);
    // Idle sockets closed before the server's keep-alive timeout (Node's 5 s), so a request never lands on one it is closing.
    this.agent = new Agent({ keepAlive: true, maxSockets: maxInFlight, timeout: 4000 });
  }

  close(): void {
    this.agent.destroy();
  }

  /** One JSON array of payments, all stamped with the same publish moment. */
  buildBody(trackingIds: readonly string[]): string {
    return this.buildPayments(trackingIds).body;
  }

  /** The body and the id (`<signature>:<eventIndex>`) of each payment in it, in order. */
  buildPayments(trackingIds: readonly string[]): { body: string; ids: string[] } {
    const stamp = stampUs();
    const unix = Math.floor(Date.now() / 1000);
    const ids: string[] = [];
    const parts = trackingIds.map((trackingId) => {
      const signature = this.signatures.next();
      ids.push(`${signature}:0`);
      return `{"trackingId":"${trackingId}","amount":"${stamp}","timestamp":${unix},"status":"executed","signature":"${signature}","eventIndex":0}`;
    });
    return { body: `[${parts.join(",")}]`, ids };
  }

  post(body: string): Promise<Response> {
    return new Promise((resolve, reject) => {
      const req = request(
        this.url,
        {
          method: "POST",
          agent: this.agent,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            authorization: `Bearer ${this.apiKey}`,
          },
          timeout: 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error("publish request timed out")));
      req.on("error", reject);
      req.end(body);
    });
  }

  /**
   * Sends `rate` payments/s for `durationMs`, in requests of at most
   * `batchSize`, ticking every `tickMs`: with a `batchSize` above what one
   * tick makes due, each tick sends what is due as one request. Resolves when the window is over and
   * the responses are in (bounded by `settleMs`).
   */
  async paced(options: {
    rate: number;
    durationMs: number;
    batchSize: number;
    trackingIdAt: (index: number) => string;
    tickMs?: number;
    settleMs?: number;
    /** Runs when the publish window closes, before waiting for responses, with the payments acknowledged so far. */
    onWindowEnd?: (acknowledged: number) => void;
  }): Promise<PublishOutcome> {
    const tickMs = options.tickMs ?? 10;
    const outcome = this.emptyOutcome();
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    const inFlight = new Set<Promise<void>>();
    let index = 0;

    while (performance.now() - start < options.durationMs) {
      const elapsedMs = performance.now() - start;
      let due = Math.floor((options.rate * elapsedMs) / 1000) - index;
      while (due > 0) {
        if (inFlight.size >= this.maxInFlight) {
          outcome.throttledTicks++;
          break;
        }
        const size = Math.min(due, options.batchSize);
        const ids: string[] = [];
        for (let i = 0; i < size; i++) ids.push(options.trackingIdAt(index + i));
        index += size;
        due -= size;
        outcome.sent += size;
        const sent = this.track(this.buildBody(ids), size, outcome);
        inFlight.add(sent);
        void sent.finally(() => inFlight.delete(sent));
      }
      await new Promise((r) => setTimeout(r, tickMs));
    }
    options.onWindowEnd?.(outcome.accepted);
    await this.settle(inFlight, options.settleMs ?? 15_000, outcome);
    this.finish(outcome, start, cpuStart);
    return outcome;
  }

  /** Keeps `concurrency` requests of `batchSize` payments in flight for `durationMs`. */
  async closedLoop(options: {
    durationMs: number;
    batchSize: number;
    concurrency: number;
    trackingIdAt: (index: number) => string;
    settleMs?: number;
  }): Promise<PublishOutcome> {
    const outcome = this.emptyOutcome();
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    let index = 0;
    const lane = async (): Promise<void> => {
      while (performance.now() - start < options.durationMs) {
        const ids: string[] = [];
        for (let i = 0; i < options.batchSize; i++) ids.push(options.trackingIdAt(index++));
        outcome.sent += ids.length;
        await this.track(this.buildBody(ids), ids.length, outcome);
      }
    };
    const lanes = Array.from({ length: options.concurrency }, () => lane());
    await this.settle(new Set(lanes), options.settleMs ?? 30_000, outcome);
    // Throughput counts the whole span including the last responses.
    this.finish(outcome, start, cpuStart);
    return outcome;
  }

  private emptyOutcome(): PublishOutcome {
    return { sent: 0, accepted: 0, failedRequests: 0, elapsedMs: 0, cpuPercent: 0, throttledTicks: 0 };
  }

  private async track(body: string, size: number, outcome: PublishOutcome): Promise<void> {
    try {
      const response = await this.post(body);
      if (response.status === 200 || response.status === 201) outcome.accepted += size;
      else {
        outcome.failedRequests++;
        outcome.firstFailure ??= `HTTP ${response.status}: ${response.body.slice(0, 200)}`;
      }
    } catch (error) {
      outcome.failedRequests++;
      outcome.firstFailure ??= error instanceof Error ? error.message : String(error);
    }
  }

  private async settle(pending: Set<Promise<void>>, settleMs: number, outcome: PublishOutcome): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.all(pending).then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), settleMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) outcome.firstFailure ??= `responses still pending after ${settleMs} ms`;
  }

  private finish(outcome: PublishOutcome, start: number, cpuStart: NodeJS.CpuUsage): void {
    outcome.elapsedMs = performance.now() - start;
    const cpu = process.cpuUsage(cpuStart);
    outcome.cpuPercent = (100 * (cpu.user + cpu.system)) / 1000 / outcome.elapsedMs;
  }
}
