import { EventEmitter, once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
  /** performance.now() when the body had arrived. */
  receivedAt: number;
  /** 1-based position among the requests this receiver got. */
  index: number;
}

/** What the receiver answers to one request: a status (and headers), or `hang` to never answer. */
export type Answer = { status: number; headers?: Record<string, string> } | "hang";

export interface WebhookReceiver {
  url: string;
  port: number;
  received: ReceivedWebhook[];
  /** Emits `request` with each {@link ReceivedWebhook}. */
  events: EventEmitter;
  /** Resolves when `count` requests have arrived (answered or not). */
  until(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/** A merchant's backend on 127.0.0.1: records each webhook and answers as `answer` says (200 by default). */
export async function startWebhookReceiver(
  answer: (request: ReceivedWebhook) => Answer = () => ({ status: 200 }),
  port = 0,
): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const events = new EventEmitter();
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const webhook: ReceivedWebhook = {
        headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)])),
        body: Buffer.concat(chunks).toString("utf8"),
        receivedAt: performance.now(),
        index: received.length + 1,
      };
      received.push(webhook);
      const reply = answer(webhook);
      if (reply === "hang") hanging.add(response);
      else response.writeHead(reply.status, reply.headers).end();
      events.emit("request", webhook);
    });
  });
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  const actualPort = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actualPort}/hook`,
    port: actualPort,
    received,
    events,
    until(count, timeoutMs = 10_000) {
      if (received.length >= count) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          events.off("request", listener);
          reject(new Error(`timed out after ${timeoutMs} ms with ${received.length} of ${count} webhooks`));
        }, timeoutMs);
        const listener = () => {
          if (received.length < count) return;
          clearTimeout(timer);
          events.off("request", listener);
          resolve(received);
        };
        events.on("request", listener);
      });
    },
    async close() {
      for (const response of hanging) response.socket?.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
