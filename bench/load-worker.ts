/**
 * One load-generator process. It holds a share of the client connections and
 * measures, per received payment, the latency from the stamp the publisher put
 * into the payment to now. Forked by WorkerPool; commands arrive over IPC.
 *
 * The stamp is process.hrtime in µs, carried as the payment amount. On Linux
 * hrtime reads CLOCK_MONOTONIC, one clock for every process on the host, so a
 * stamp taken in the orchestrator and read here needs no offset correction and
 * cannot jump with wall-clock adjustments.
 */
import { EioClient } from "./eio-client.js";
import { HandshakeGate } from "./handshake-gate.js";
import { LatencyHistogram } from "./latency-histogram.js";
import { ephemeralPortRange } from "./proc-stats.js";
import { ResubscribingClient } from "./resubscribing-client.js";
import type {
  ConnectReply,
  StatsReply,
  StormProgressReply,
  StormReceiptsReply,
  Subscription,
  WorkerCommand,
  WorkerReply,
} from "./worker-protocol.js";

const STAMP_MARKER = '"amountRaw":"';

function nowNs(): bigint {
  return process.hrtime.bigint();
}

class LoadWorker {
  private readonly clients: EioClient[] = [];
  private stormClients: ResubscribingClient[] = [];
  private histogram = new LatencyHistogram();
  private received = 0;
  private unstamped = 0;
  private firstReceiveNs = 0n;
  private lastReceiveNs = 0n;
  private otherEvents: Record<string, number> = {};
  private closedUnexpectedly = 0;
  private cpuAtReset = process.cpuUsage();
  private resetAtNs = nowNs();
  private closingAll = false;
  private readonly ports = ephemeralPortRange();
  private nextPort = this.ports.first;

  onPayment(raw: string): void {
    const now = nowNs();
    this.received++;
    if (this.firstReceiveNs === 0n) this.firstReceiveNs = now;
    this.lastReceiveNs = now;
    const at = raw.indexOf(STAMP_MARKER);
    if (at < 0) {
      this.unstamped++;
      return;
    }
    const start = at + STAMP_MARKER.length;
    const end = raw.indexOf('"', start);
    const sentUs = Number(raw.slice(start, end));
    if (!Number.isFinite(sentUs) || end < 0) {
      this.unstamped++;
      return;
    }
    this.histogram.record(Number(now / 1000n) - sentUs);
  }

  async connect(command: Extract<WorkerCommand, { type: "connect" }>): Promise<ConnectReply> {
    const startNs = nowNs();
    let lastSubscribeNs = startNs;
    let subscribed = 0;
    let failed = 0;
    let firstError: string | undefined;
    let next = 0;
    const deadline = Date.now() + command.timeoutMs;

    const perClient = command.subscriptionsPerClient ?? 1;
    /** One client: connects, then sends its subscribes one after another, each once the last is acknowledged. */
    const runOne = async (subscriptions: readonly Subscription[]): Promise<void> => {
      let resolveAck: (() => void) | undefined;
      let rejectAck: ((error: Error) => void) | undefined;
      /** The next subscribe's ack, made before it is sent; a close or an error event rejects the one awaited. */
      const nextAck = (): Promise<void> =>
        new Promise<void>((resolve, reject) => {
          resolveAck = resolve;
          rejectAck = reject;
        });
      const client = new EioClient(
        {
          baseUrl: command.baseUrl,
          path: command.path,
          connectTimeoutMs: Math.max(1000, deadline - Date.now()),
          localAddress: command.localAddress,
          localPort: command.localAddress === undefined ? undefined : this.takePort(),
        },
        {
          onEvent: (name, raw) => {
            if (name === "payment") this.onPayment(raw);
            else if (name === "ack") resolveAck?.();
            else {
              this.otherEvents[name] = (this.otherEvents[name] ?? 0) + 1;
              // A subscribe refused with an error event fails now, with the server's words.
              if (name === "error") rejectAck?.(new Error(`error instead of the subscribe ack: ${raw.slice(0, 300)}`));
            }
          },
          onClose: (reason) => {
            if (!this.closingAll) this.closedUnexpectedly++;
            // A client dropped before its ack fails now, with the reason, rather than at the deadline.
            rejectAck?.(new Error(`closed before the subscribe ack: ${reason}`));
          },
        },
      );
      this.clients.push(client);
      await client.connect();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no ack for subscribe")), Math.max(1000, deadline - Date.now()));
      });
      try {
        for (const subscription of subscriptions) {
          const acked = nextAck();
          lastSubscribeNs = nowNs();
          client.emit("subscribe", subscription);
          await Promise.race([acked, timedOut]);
        }
      } finally {
        clearTimeout(timer);
      }
    };

    const lane = async (): Promise<void> => {
      while (next < command.subscriptions.length && Date.now() < deadline) {
        const subscriptions = command.subscriptions.slice(next, next + perClient);
        next += perClient;
        try {
          await runOne(subscriptions);
          subscribed += subscriptions.length;
        } catch (error) {
          failed += subscriptions.length;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    };
    const lanes = Math.max(1, Math.min(command.concurrency, Math.ceil(command.subscriptions.length / perClient)));
    await Promise.all(Array.from({ length: lanes }, () => lane()));
    failed += command.subscriptions.length - subscribed - failed;
    return {
      type: "connected",
      requestId: command.requestId,
      subscribed,
      failed,
      ...(firstError === undefined ? {} : { firstError }),
      startNs: startNs.toString(),
      endNs: nowNs().toString(),
      lastSubscribeNs: lastSubscribeNs.toString(),
    };
  }

  /** Connects and subscribes clients that come back by themselves when the server drops them. */
  async stormConnect(command: Extract<WorkerCommand, { type: "storm-connect" }>): Promise<ConnectReply> {
    const startNs = nowNs();
    const gate = new HandshakeGate(Math.max(1, command.concurrency));
    let subscribed = 0;
    let firstError: string | undefined;
    const started = command.trackingIds.map((trackingId) => {
      const client = new ResubscribingClient({
        baseUrl: command.baseUrl,
        path: command.path,
        trackingId,
        gate,
        ...(command.localAddress === undefined ? {} : { localAddress: command.localAddress, takePort: () => this.takePort() }),
      });
      this.stormClients.push(client);
      return client.start().then(
        () => void subscribed++,
        (error: unknown) => void (firstError ??= error instanceof Error ? error.message : String(error)),
      );
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(started), new Promise((r) => (timer = setTimeout(r, command.timeoutMs)))]);
    clearTimeout(timer);
    const endNs = nowNs();
    return {
      type: "connected",
      requestId: command.requestId,
      subscribed,
      failed: command.trackingIds.length - subscribed,
      ...(firstError === undefined ? {} : { firstError }),
      startNs: startNs.toString(),
      endNs: endNs.toString(),
      lastSubscribeNs: endNs.toString(),
    };
  }

  stormProgress(requestId: number, sinceUs: number): StormProgressReply {
    let subscribedSince = 0;
    let lastSubscribedUs = 0;
    let uniqueReceived = 0;
    for (const client of this.stormClients) {
      uniqueReceived += client.receipts.size;
      if (client.isSubscribed && client.subscribedAtUs > sinceUs) {
        subscribedSince++;
        lastSubscribedUs = Math.max(lastSubscribedUs, client.subscribedAtUs);
      }
    }
    return { type: "storm-progress", requestId, subscribedSince, lastSubscribedUs, uniqueReceived };
  }

  stormReceipts(requestId: number): StormReceiptsReply {
    return {
      type: "storm-receipts",
      requestId,
      clients: this.stormClients.map((client) => ({
        trackingId: client.trackingId,
        receipts: [...client.receipts],
        duplicates: client.duplicates,
        reconnectAttempts: client.reconnectAttempts,
        subscribedAtUs: client.subscribedAtUs,
      })),
    };
  }

  /**
   * The next source port, round the kernel's ephemeral range. With a source
   * address of its own, this process is the only user of these ports, so it
   * can name them and spare the kernel its search (see WorkerPool.connect).
   */
  private takePort(): number {
    const port = this.nextPort;
    this.nextPort = port >= this.ports.last ? this.ports.first : port + 1;
    return port;
  }

  reset(): void {
    this.histogram = new LatencyHistogram();
    this.received = 0;
    this.unstamped = 0;
    this.firstReceiveNs = 0n;
    this.lastReceiveNs = 0n;
    this.otherEvents = {};
    this.cpuAtReset = process.cpuUsage();
    this.resetAtNs = nowNs();
  }

  stats(requestId: number): StatsReply {
    const cpu = process.cpuUsage(this.cpuAtReset);
    return {
      type: "stats",
      requestId,
      received: this.received,
      unstamped: this.unstamped,
      histogram: this.histogram.toSparse(),
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      elapsedUs: Number((nowNs() - this.resetAtNs) / 1000n),
      firstReceiveNs: this.firstReceiveNs.toString(),
      lastReceiveNs: this.lastReceiveNs.toString(),
      openConnections: this.clients.filter((c) => c.isConnected).length,
      otherEvents: this.otherEvents,
      closedUnexpectedly: this.closedUnexpectedly,
    };
  }

  disconnectAll(): void {
    this.closingAll = true;
    for (const client of this.clients.splice(0)) client.close();
    for (const client of this.stormClients.splice(0)) client.stop();
    this.closingAll = false;
    this.closedUnexpectedly = 0;
  }
}

function reply(message: WorkerReply): void {
  process.send?.(message);
}

const worker = new LoadWorker();

async function handle(command: WorkerCommand): Promise<void> {
  try {
    switch (command.type) {
      case "connect":
        reply(await worker.connect(command));
        return;
      case "storm-connect":
        reply(await worker.stormConnect(command));
        return;
      case "storm-progress":
        reply(worker.stormProgress(command.requestId, command.sinceUs));
        return;
      case "storm-receipts":
        reply(worker.stormReceipts(command.requestId));
        return;
      case "reset":
        worker.reset();
        reply({ type: "done", requestId: command.requestId });
        return;
      case "stats":
        reply(worker.stats(command.requestId));
        return;
      case "disconnect-all":
        worker.disconnectAll();
        reply({ type: "done", requestId: command.requestId });
        return;
      case "clock":
        reply({ type: "clock", requestId: command.requestId, workerNs: nowNs().toString() });
        return;
    }
  } catch (error) {
    reply({ type: "failed", requestId: command.requestId, error: error instanceof Error ? error.message : String(error) });
  }
}

if (!process.send) {
  console.error("load-worker must be started by the bench orchestrator (it needs an IPC channel)");
  process.exit(2);
}
process.on("message", (command: WorkerCommand) => {
  void handle(command);
});
// An orphaned worker would keep thousands of sockets open; follow the parent out.
process.on("disconnect", () => process.exit(0));
