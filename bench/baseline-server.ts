/**
 * The baseline: what a user would deploy without tributary-ws. A plain
 * Socket.IO 4.8 server with the default in-memory adapter and no storage,
 * speaking the same wire contract as the service so the same load can drive
 * both. Subscribing joins a room; publishing emits to it; nothing is kept.
 *
 * Run: node --import tsx bench/baseline-server.ts (env PORT, HOST,
 * TRIBUTARY_API_KEYS).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { pathToFileURL } from "node:url";
import { Server } from "socket.io";

const MAX_BATCH = 1000;
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface BaselineServerOptions {
  port: number;
  host: string;
  apiKeys: readonly string[];
  /** Engine.IO heartbeat; only tests shorten it, to see pongs without waiting 25 s. */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
}

export interface BaselineServer {
  port: number;
  close(): Promise<void>;
}

interface PublishedPayment {
  trackingId: string;
  amount: string;
  timestamp: number;
  status: string;
  signature: string;
  eventIndex: number;
}

function readPayment(value: unknown): PublishedPayment | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.trackingId !== "string" || v.trackingId.length === 0) return undefined;
  if (typeof v.amount !== "string" || !/^(0|[1-9][0-9]{0,19})$/.test(v.amount)) return undefined;
  if (typeof v.timestamp !== "number" || typeof v.signature !== "string") return undefined;
  const eventIndex = typeof v.eventIndex === "number" ? v.eventIndex : 0;
  const status = typeof v.status === "string" ? v.status : "executed";
  return { trackingId: v.trackingId, amount: v.amount, timestamp: v.timestamp, status, signature: v.signature, eventIndex };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export function startBaselineServer(options: BaselineServerOptions): Promise<BaselineServer> {
  const keys = new Set(options.apiKeys);
  const httpServer = createServer();
  const io = new Server(httpServer, {
    path: "/ws/v1",
    serveClient: false,
    cors: { origin: "*" },
    ...(options.pingIntervalMs === undefined ? {} : { pingInterval: options.pingIntervalMs }),
    ...(options.pingTimeoutMs === undefined ? {} : { pingTimeout: options.pingTimeoutMs }),
  });

  io.on("connection", (socket) => {
    socket.on("subscribe", (payload: unknown) => {
      const trackingId =
        typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>).trackingId : undefined;
      if (typeof trackingId !== "string" || trackingId.length === 0) {
        socket.emit("error", { type: "error", data: "trackingId is required", timestamp: Date.now() });
        return;
      }
      // `since` is accepted and ignored: with no storage there is nothing to replay.
      void socket.join(trackingId);
      socket.emit("ack", { type: "ack", data: `Subscribed to trackingId: ${trackingId}`, timestamp: Date.now() });
    });
    socket.on("unsubscribe", (payload: unknown) => {
      const trackingId =
        typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>).trackingId : undefined;
      if (typeof trackingId === "string") void socket.leave(trackingId);
    });
  });

  const publish = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const auth = req.headers.authorization ?? "";
    if (!auth.startsWith("Bearer ") || !keys.has(auth.slice(7))) {
      send(res, 401, { error: "unauthorized" });
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readBody(req));
    } catch {
      send(res, 400, { error: "invalid JSON body" });
      return;
    }
    const items = Array.isArray(parsed) ? parsed : [parsed];
    if (items.length === 0 || items.length > MAX_BATCH) {
      send(res, 400, { error: `batch must hold 1..${MAX_BATCH} payments` });
      return;
    }
    const payments: PublishedPayment[] = [];
    for (const item of items) {
      const payment = readPayment(item);
      if (!payment) {
        send(res, 400, { error: "invalid payment" });
        return;
      }
      payments.push(payment);
    }
    const results = payments.map((p) => {
      const id = `${p.signature}:${p.eventIndex}`;
      io.to(p.trackingId).emit("payment", {
        type: "payment_notification",
        data: {
          trackingId: p.trackingId,
          amount: Number(p.amount),
          amountRaw: p.amount,
          timestamp: p.timestamp,
          status: p.status,
          signature: p.signature,
          id,
          // No log, so no position in it; kept so the envelope has the same shape.
          offset: 0,
        },
        timestamp: Date.now(),
      });
      return { id, trackingId: p.trackingId, offset: 0, duplicate: false };
    });
    send(res, 201, Array.isArray(parsed) ? results : results[0]);
  };

  httpServer.on("request", (req: IncomingMessage, res: ServerResponse) => {
    // Engine.IO answers its own path; everything else is ours.
    if (req.url?.startsWith("/ws/v1")) return;
    if (req.method === "GET" && req.url === "/v1/health") {
      send(res, 200, { status: "ok" });
    } else if (req.method === "POST" && req.url === "/v1/payments") {
      publish(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, { error: String(error) });
      });
    } else {
      send(res, 404, { error: "not found" });
    }
  });

  return new Promise((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(options.port, options.host, () => {
      const address = httpServer.address();
      const port = typeof address === "object" && address ? address.port : options.port;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            void io.close(() => done());
          }),
      });
    });
  });
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntryPoint) {
  const port = Number(process.env.PORT ?? "3000");
  const host = process.env.HOST ?? "127.0.0.1";
  const apiKeys = (process.env.TRIBUTARY_API_KEYS ?? "").split(",").filter((k) => k.length > 0);
  const server = await startBaselineServer({ port, host, apiKeys });
  console.warn(`baseline listening on ${host}:${server.port}`);
  const shutdown = (): void => {
    void server.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}
