import { request as httpRequest } from "node:http";
import type { Socket } from "socket.io-client";
import { paymentBody } from "./payments.js";
import { emitWithAck, TEST_API_KEY, type TestServer } from "./test-server.js";
import { nextMatchingEvent } from "./wait.js";

/** The loopback address honest bystanders use, so an attacker's per-address limits (on 127.0.0.1) are not theirs. */
export const BYSTANDER_ADDRESS = "127.0.0.2";

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

/** One HTTP request from a chosen local address (fetch cannot bind one). */
export function requestFrom(
  url: string,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; localAddress?: string },
): Promise<HttpAnswer> {
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    const target = new URL(options.path, url);
    const outgoing = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: options.method ?? "GET",
        headers: { connection: "close", ...options.headers },
        localAddress: options.localAddress ?? BYSTANDER_ADDRESS,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString(),
            ms: performance.now() - startedAt,
          }),
        );
      },
    );
    outgoing.on("error", reject);
    outgoing.end(options.body);
  });
}

export interface BystanderFigures {
  healthMs: number[];
  deliveryMs: number[];
}

/**
 * An honest client on another address, probing while an attack runs: its
 * `/v1/health` and the delivery of a payment it publishes to its own socket,
 * back to back until `stop` is called. Returns the measured figures.
 */
export async function watchBystander(server: TestServer, socket: Socket, trackingId: string): Promise<{ stop: () => Promise<BystanderFigures> }> {
  await emitWithAck(socket, "subscribe", { trackingId });
  const figures: BystanderFigures = { healthMs: [], deliveryMs: [] };
  let running = true;
  const loop = (async () => {
    while (running) {
      const health = await requestFrom(server.url, { path: "/v1/health" });
      if (health.status !== 200) throw new Error(`bystander health answered ${health.status}`);
      figures.healthMs.push(health.ms);
      const body = paymentBody({ trackingId });
      const startedAt = performance.now();
      const delivered = nextMatchingEvent<any>(socket, "payment", (payment) => payment.data.signature === body.signature, 30_000);
      const published = await requestFrom(server.url, {
        method: "POST",
        path: "/v1/payments",
        headers: { "content-type": "application/json", authorization: `Bearer ${TEST_API_KEY}` },
        body: JSON.stringify(body),
      });
      if (published.status !== 200) throw new Error(`bystander publish answered ${published.status}: ${published.body}`);
      await delivered;
      figures.deliveryMs.push(performance.now() - startedAt);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return figures;
    },
  };
}

export function summarise(label: string, values: number[]): { median: number; max: number; text: string } {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const max = sorted.at(-1) ?? 0;
  return { median, max, text: `${label}: n=${values.length} median ${median.toFixed(1)} ms, max ${max.toFixed(1)} ms` };
}
