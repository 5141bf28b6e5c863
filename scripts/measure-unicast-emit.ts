/**
 * Main-thread CPU the gateway spends per unicast payment, on its own: one
 * process runs a PaymentGateway on a loopback port and emits batches of
 * stored payments as the ingest does (a batch in one turn, then its flush),
 * each to one of many rooms with one subscriber; a child process holds the
 * subscribers (socket.io-client) and counts what arrives. Process CPU time
 * per payment does not depend on how busy a shared machine is the way a
 * saturation rate does.
 *
 * With SAMPLE_HEAP=1 it also samples what the measured run allocates, dead
 * objects included (the garbage collector's work), and prints bytes per
 * payment and the top allocating functions.
 *
 * RECOVERY_WINDOW_MS and RECOVERY_MAX_PACKETS set its recovery buffer as the
 * service's settings do (the service's defaults otherwise; a window of 0 turns it off).
 *
 *   npx tsx scripts/measure-unicast-emit.ts [subscribers=2000] [payments=60000] [batch=100]
 */
import { fork, type ChildProcess } from "node:child_process";
import { createServer } from "node:http";
import { Session } from "node:inspector/promises";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { io as connect } from "socket.io-client";
import { PaymentGateway, SOCKET_PATH } from "../src/gateway/payment-gateway.js";
import { createLogger } from "../src/logger.js";
import { createMetrics } from "../src/metrics.js";
import type { StoredPayment } from "../src/payment.js";

const trackingIdOf = (index: number) => `emit-bench-${index}`;

async function runSubscribers(url: string, count: number): Promise<void> {
  let received = 0;
  const sockets = await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const socket = connect(url, { path: SOCKET_PATH, transports: ["websocket"], forceNew: true });
      socket.on("payment", () => received++);
      await socket.timeout(60_000).emitWithAck("subscribe", { trackingId: trackingIdOf(index) });
      return socket;
    }),
  );
  process.send?.({ subscribed: sockets.length });
  process.on("message", (message: { report?: boolean }) => {
    if (message.report) process.send?.({ received });
  });
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

function printAllocations(result: { profile: { head: SamplingNode } }, payments: number): void {
  const byFunction = new Map<string, number>();
  let total = 0;
  const visit = (node: SamplingNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = `${functionName || "(anonymous)"} ${url.replace(/.*node_modules\//, "").replace(/.*\/src\//, "src/")}:${lineNumber + 1}`;
    total += node.selfSize;
    byFunction.set(where, (byFunction.get(where) ?? 0) + node.selfSize);
    for (const child of node.children) visit(child);
  };
  visit(result.profile.head);
  console.log(`allocated: ${(total / payments).toFixed(0)} bytes per payment`);
  for (const [where, bytes] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
    console.log(`  ${(bytes / payments).toFixed(0).padStart(6)} B  ${where}`);
  }
}

async function main(): Promise<void> {
  const subscribers = Number(process.argv[2] ?? 2000);
  const payments = Number(process.argv[3] ?? 60_000);
  const batch = Number(process.argv[4] ?? 100);
  const history = {
    list: () => Promise.resolve([]),
    latestOffset: () => Promise.resolve(0),
    listPolicyEvents: () => Promise.resolve([]),
    heads: (trackingIds: readonly string[]) => Promise.resolve(trackingIds.map(() => ({ latestOffset: 0, latestPolicyOffset: 0 }))),
  };
  const gateway = new PaymentGateway({
    logger: createLogger("silent"),
    metrics: createMetrics(),
    maxSubscriptionsPerSocket: 100,
    maxHttpBufferSize: 1e6,
    recoveryWindowMs: Number(process.env.RECOVERY_WINDOW_MS ?? 120_000),
    recoveryMaxPackets: Number(process.env.RECOVERY_MAX_PACKETS ?? 250_000),
    corsOrigins: ["*"],
    history,
    maxBufferedBytesPerSocket: 1 << 20,
  });
  const http = createServer();
  gateway.attach(http);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ["--subscribers", url, String(subscribers)], { execArgv: ["--import", "tsx"] });
  const fromChild = () => new Promise<{ subscribed?: number; received?: number }>((resolve) => child.once("message", resolve));
  await fromChild();

  const offsets = new Array<number>(subscribers).fill(0);
  let next = 0;
  const emitBatch = () => {
    for (let i = 0; i < batch; i++) {
      const index = (next++ * 7919) % subscribers;
      const payment: StoredPayment = {
        trackingId: trackingIdOf(index),
        amount: 1_000_000n + BigInt(next),
        timestamp: 1_700_000_000,
        status: "executed",
        signature: "5".repeat(88),
        eventIndex: 0,
        id: `${"5".repeat(88)}:${next}`,
        offset: (offsets[index] = (offsets[index] ?? 0) + 1),
        receivedAt: Date.now(),
      };
      gateway.sendToRoom(payment);
    }
  };
  // Warm up, then measure at about 10,000 payments/s (a batch every 10 ms).
  const run = async (count: number) => {
    for (let sent = 0; sent < count; sent += batch) {
      emitBatch();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  await run(Math.min(10_000, payments));
  const inspector = process.env.SAMPLE_HEAP === "1" ? new Session() : undefined;
  if (inspector !== undefined) {
    inspector.connect();
    await inspector.post("HeapProfiler.startSampling", {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  const before = process.cpuUsage();
  const started = performance.now();
  await run(payments);
  const cpu = process.cpuUsage(before);
  const seconds = (performance.now() - started) / 1000;
  if (inspector !== undefined) printAllocations(await inspector.post("HeapProfiler.stopSampling"), payments);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  child.send({ report: true });
  const { received } = await fromChild();
  const total = Math.min(10_000, payments) + payments;
  console.log(
    `${subscribers} subscribers, ${payments} payments in batches of ${batch} over ${seconds.toFixed(1)} s: ` +
      `${(((cpu.user + cpu.system) / payments)).toFixed(1)} µs CPU per payment (user ${(cpu.user / payments).toFixed(1)}, system ${(cpu.system / payments).toFixed(1)}); ` +
      `received ${received}/${total}`,
  );
  child.kill();
  await gateway.close();
  http.close();
}

if (process.argv[2] === "--subscribers") await runSubscribers(process.argv[3] ?? "", Number(process.argv[4]));
else await main();
