/**
 * One node of the cluster-adapter benchmark, run as a child process of
 * bench/cluster-adapters.ts and driven over IPC. It does what a tributary-ws
 * node does between the store and the sockets, with the store left out so the
 * adapter is what is measured: node A "commits" payments at a paced rate and
 * sends each to the other nodes as a server-side event (as ClusterLink does);
 * node B emits each one it receives to the local sockets of its room.
 *
 * Env: ADAPTER (classic|sharded|streams), REDIS_URL, PORT.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdapter as createClassicAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import { Redis } from "ioredis";
import { Server, type ServerOptions } from "socket.io";
import type { NodeCommand, NodeReply } from "./cluster-protocol.js";

const PAYMENT_EVENT = "tributary:payment";
/** A real signature's length, so messages are the size the service sends. */
const SIGNATURE = "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW";
/** Pacing tick; each tick sends what the schedule owes, so timer jitter does not lower the rate. */
const TICK_MS = 2;

const adapterName = process.env.ADAPTER ?? "classic";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const port = Number(process.env.PORT ?? "0");

const send = (reply: NodeReply) => process.send?.(reply);

const pub = new Redis(redisUrl, { maxRetriesPerRequest: null });
const sub = pub.duplicate();
for (const client of [pub, sub]) client.on("error", () => undefined);

function adapterFor(name: string): ServerOptions["adapter"] {
  switch (name) {
    case "classic":
      return createClassicAdapter(pub, sub, { key: "bench" });
    case "sharded":
      return createShardedAdapter(pub, sub, { channelPrefix: "bench" });
    case "streams":
      return createStreamsAdapter(pub, { streamName: "bench" });
    default:
      throw new Error(`unknown adapter ${name}`);
  }
}

const httpServer = createServer();
const io = new Server(httpServer, { path: "/ws/v1", adapter: adapterFor(adapterName), serveClient: false });

io.on("connection", (socket) => {
  socket.on("subscribe", (request: { trackingId?: unknown }) => {
    if (typeof request?.trackingId !== "string") return;
    void socket.join(request.trackingId);
    socket.emit("ack", { type: "ack", data: `Subscribed to trackingId: ${request.trackingId}` });
  });
});

let received = 0;
io.on(PAYMENT_EVENT, (message: { trackingId: string; receivedAt: number }) => {
  received++;
  const { receivedAt: _receivedAt, ...data } = message;
  io.local.to(message.trackingId).emit("payment", { type: "payment_notification", data, timestamp: Date.now() });
});

let sequence = 0;
function paymentMessage(trackingId: string) {
  sequence++;
  const stampUs = String(process.hrtime.bigint() / 1000n);
  return {
    trackingId,
    amount: Number(stampUs),
    amountRaw: stampUs,
    timestamp: Math.floor(Date.now() / 1000),
    status: "executed",
    signature: SIGNATURE,
    id: `${SIGNATURE}:${sequence}`,
    offset: sequence,
    eventIndex: 0,
    receivedAt: Date.now(),
  };
}

/** Sends `rate` payments a second for `seconds`, round-robin over the tracking IDs. */
function run(command: Extract<NodeCommand, { type: "run" }>): Promise<NodeReply> {
  const { rate, seconds, trackingIds, maxPending } = command;
  const total = Math.round(rate * seconds);
  let sent = 0;
  let shed = 0;
  let maxQueue = 0;
  const started = performance.now();
  return new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
      while (sent + shed < due) {
        const trackingId = trackingIds[(sent + shed) % trackingIds.length] ?? "none";
        // The same guard as the service's link: a bounded number of commands in
        // flight; past it a payment is shed (the service resyncs it from the store).
        if (maxPending > 0 && pub.commandQueue.length >= maxPending) shed++;
        else {
          io.serverSideEmit(PAYMENT_EVENT, paymentMessage(trackingId));
          sent++;
        }
      }
      maxQueue = Math.max(maxQueue, pub.commandQueue.length);
      if (sent + shed >= total) {
        resolve({ type: "done", sent, shed, maxQueue, elapsedMs: performance.now() - started });
        return;
      }
      setTimeout(tick, TICK_MS);
    };
    tick();
  });
}

process.on("message", (command: NodeCommand) => {
  if (command.type === "run") void run(command).then(send);
  else if (command.type === "stats") {
    send({ type: "stats", received, queue: pub.commandQueue.length, rssKb: Math.round(process.memoryUsage().rss / 1024) });
  } else if (command.type === "stop") {
    io.close();
    pub.disconnect();
    sub.disconnect();
    process.exit(0);
  }
});
// The bench died without telling us: do not outlive it.
process.on("disconnect", () => process.exit(0));

httpServer.listen(port, "127.0.0.1", () => {
  const waitReady = () => {
    if (pub.status === "ready" && sub.status === "ready") {
      send({ type: "ready", port: (httpServer.address() as AddressInfo).port });
    } else setTimeout(waitReady, 20);
  };
  waitReady();
});
