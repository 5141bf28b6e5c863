/**
 * The orchestrator's side of the load-generator processes. Child processes
 * rather than worker threads so each has its own event loop, its own file
 * descriptor limit and a CPU figure of its own (process.cpuUsage).
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { LatencyHistogram } from "./latency-histogram.js";
import type {
  ConnectReply,
  StatsReply,
  StormClientReceipts,
  StormProgressReply,
  StormReceiptsReply,
  Subscription,
  WorkerCommand,
  WorkerReply,
} from "./worker-protocol.js";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type CommandBody = DistributiveOmit<WorkerCommand, "requestId">;

const WORKER_ENTRY = fileURLToPath(new URL("./load-worker.ts", import.meta.url));
const REQUEST_TIMEOUT_MS = 180_000;

/** The loopback address worker `index` connects from. */
function loopbackSourceAddress(index: number): string {
  return `127.0.0.${index + 2}`;
}

function isLoopback(baseUrl: string): boolean {
  return new URL(baseUrl).hostname === "127.0.0.1";
}

export interface PoolStats {
  received: number;
  unstamped: number;
  histogram: LatencyHistogram;
  /** CPU time per worker as a share of one core over the measured interval. */
  workerCpuPercent: number[];
  /** CPU time of all workers together over the measured interval, µs. */
  workerCpuUs: number;
  firstReceiveNs: bigint;
  lastReceiveNs: bigint;
  openConnections: number;
  otherEvents: Record<string, number>;
  closedUnexpectedly: number;
}

export interface PoolConnectResult {
  subscribed: number;
  failed: number;
  firstError?: string;
  elapsedMs: number;
  lastSubscribeNs: bigint;
}

interface Pending {
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class WorkerPool {
  private readonly children: ChildProcess[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextRequestId = 1;

  private constructor() {}

  static async start(size: number): Promise<WorkerPool> {
    const pool = new WorkerPool();
    for (let i = 0; i < size; i++) {
      const child = fork(WORKER_ENTRY, [], {
        execArgv: ["--import", "tsx"],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      child.on("message", (reply: WorkerReply) => pool.settle(reply));
      child.on("exit", (code, signal) => {
        for (const [id, p] of pool.pending) {
          clearTimeout(p.timer);
          p.reject(new Error(`load worker ${i} exited (${code ?? signal ?? "?"})`));
          pool.pending.delete(id);
        }
      });
      pool.children.push(child);
    }
    await pool.checkClock();
    return pool;
  }

  get size(): number {
    return this.children.length;
  }

  get pids(): number[] {
    return this.children.map((c) => c.pid ?? -1);
  }

  /**
   * Latency relies on one monotonic clock across processes. A worker reading
   * an hrtime smaller than the one the parent sent before it would prove
   * otherwise, so the run stops rather than report nonsense.
   */
  private async checkClock(): Promise<void> {
    for (let i = 0; i < this.children.length; i++) {
      const before = process.hrtime.bigint();
      const r = await this.request(i, { type: "clock", parentNs: before.toString() });
      const after = process.hrtime.bigint();
      if (r.type !== "clock") throw new Error("unexpected clock reply");
      const workerNs = BigInt(r.workerNs);
      if (workerNs < before || workerNs > after) {
        throw new Error(`load worker ${i} hrtime is outside the parent's request window: clocks are not shared`);
      }
    }
  }

  private settle(reply: WorkerReply): void {
    const p = this.pending.get(reply.requestId);
    if (!p) return;
    this.pending.delete(reply.requestId);
    clearTimeout(p.timer);
    if (reply.type === "failed") p.reject(new Error(reply.error));
    else p.resolve(reply);
  }

  private request(index: number, body: CommandBody, timeoutMs = REQUEST_TIMEOUT_MS): Promise<WorkerReply> {
    const child = this.children[index];
    if (!child) return Promise.reject(new Error(`no worker ${index}`));
    const requestId = this.nextRequestId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`load worker ${index} did not answer ${body.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      child.send({ ...body, requestId } as WorkerCommand);
    });
  }

  private all(body: CommandBody, timeoutMs?: number): Promise<WorkerReply[]> {
    return Promise.all(this.children.map((_, i) => this.request(i, body, timeoutMs)));
  }

  /**
   * Spreads subscriptions round-robin so every worker carries the same share.
   * Towards a loopback server each worker connects from a loopback address
   * of its own (127.0.0.2, .3, …; all of 127/8 is local) and names its
   * source ports itself. Left to the kernel, a connect searches for a free
   * port among those already used towards the same server: with ~19,000
   * clients that search cost the generator ~600 µs of system CPU per
   * connect (instead of ~130 µs) and made it, not the server, set the rate.
   * Binding the address alone is worse (~2.7 ms: the bind-time search). Each
   * source address also brings its own range of ephemeral ports.
   */
  async connect(options: {
    baseUrl: string;
    path: string;
    subscriptions: Subscription[];
    /** Consecutive subscriptions made by one client on one connection; a client's all go to one worker. */
    subscriptionsPerClient?: number;
    concurrencyPerWorker: number;
    timeoutMs: number;
  }): Promise<PoolConnectResult> {
    const perClient = options.subscriptionsPerClient ?? 1;
    const shares: Subscription[][] = this.children.map(() => []);
    options.subscriptions.forEach((s, i) => shares[Math.floor(i / perClient) % shares.length]?.push(s));
    const started = process.hrtime.bigint();
    const replies = await Promise.all(
      shares.map((subscriptions, i) =>
        subscriptions.length === 0
          ? undefined
          : this.request(
              i,
              {
                type: "connect",
                baseUrl: options.baseUrl,
                path: options.path,
                subscriptions,
                subscriptionsPerClient: perClient,
                concurrency: options.concurrencyPerWorker,
                timeoutMs: options.timeoutMs,
                localAddress: isLoopback(options.baseUrl) ? loopbackSourceAddress(i) : undefined,
              },
              options.timeoutMs + 30_000,
            ),
      ),
    );
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    const result: PoolConnectResult = { subscribed: 0, failed: 0, elapsedMs, lastSubscribeNs: 0n };
    for (const r of replies) {
      if (!r) continue;
      const c = r as ConnectReply;
      result.subscribed += c.subscribed;
      result.failed += c.failed;
      if (c.firstError !== undefined) result.firstError ??= c.firstError;
      const last = BigInt(c.lastSubscribeNs);
      if (last > result.lastSubscribeNs) result.lastSubscribeNs = last;
    }
    return result;
  }

  /** Reconnect-storm clients, one per tracking ID, spread round-robin like connect(). */
  async stormConnect(options: {
    baseUrl: string;
    path: string;
    trackingIds: string[];
    concurrencyPerWorker: number;
    timeoutMs: number;
  }): Promise<{ subscribed: number; failed: number; firstError?: string }> {
    const shares: string[][] = this.children.map(() => []);
    options.trackingIds.forEach((id, i) => shares[i % shares.length]?.push(id));
    const replies = await Promise.all(
      shares.map((trackingIds, i) =>
        this.request(
          i,
          {
            type: "storm-connect",
            baseUrl: options.baseUrl,
            path: options.path,
            trackingIds,
            concurrency: options.concurrencyPerWorker,
            timeoutMs: options.timeoutMs,
            localAddress: isLoopback(options.baseUrl) ? loopbackSourceAddress(i) : undefined,
          },
          options.timeoutMs + 30_000,
        ),
      ),
    );
    const result: { subscribed: number; failed: number; firstError?: string } = { subscribed: 0, failed: 0 };
    for (const r of replies as ConnectReply[]) {
      result.subscribed += r.subscribed;
      result.failed += r.failed;
      if (r.firstError !== undefined) result.firstError ??= r.firstError;
    }
    return result;
  }

  /** How many storm clients hold a subscribe acknowledged after `sinceUs` (hrtime µs), and what they received. */
  async stormProgress(sinceUs: number): Promise<{ subscribedSince: number; lastSubscribedUs: number; uniqueReceived: number }> {
    const replies = (await this.all({ type: "storm-progress", sinceUs })) as StormProgressReply[];
    return {
      subscribedSince: replies.reduce((n, r) => n + r.subscribedSince, 0),
      lastSubscribedUs: Math.max(0, ...replies.map((r) => r.lastSubscribedUs)),
      uniqueReceived: replies.reduce((n, r) => n + r.uniqueReceived, 0),
    };
  }

  async stormReceipts(): Promise<StormClientReceipts[]> {
    const replies = (await this.all({ type: "storm-receipts" })) as StormReceiptsReply[];
    return replies.flatMap((r) => r.clients);
  }

  async reset(): Promise<void> {
    await this.all({ type: "reset" });
  }

  async stats(): Promise<PoolStats> {
    const replies = (await this.all({ type: "stats" })) as StatsReply[];
    const histogram = new LatencyHistogram();
    const result: PoolStats = {
      received: 0,
      unstamped: 0,
      histogram,
      workerCpuPercent: [],
      workerCpuUs: 0,
      firstReceiveNs: 0n,
      lastReceiveNs: 0n,
      openConnections: 0,
      otherEvents: {},
      closedUnexpectedly: 0,
    };
    for (const r of replies) {
      result.received += r.received;
      result.unstamped += r.unstamped;
      histogram.merge(LatencyHistogram.fromSparse(r.histogram));
      const cpuUs = r.cpuUserUs + r.cpuSystemUs;
      result.workerCpuUs += cpuUs;
      result.workerCpuPercent.push(r.elapsedUs > 0 ? (100 * cpuUs) / r.elapsedUs : 0);
      const first = BigInt(r.firstReceiveNs);
      const last = BigInt(r.lastReceiveNs);
      if (first !== 0n && (result.firstReceiveNs === 0n || first < result.firstReceiveNs)) result.firstReceiveNs = first;
      if (last > result.lastReceiveNs) result.lastReceiveNs = last;
      result.openConnections += r.openConnections;
      result.closedUnexpectedly += r.closedUnexpectedly;
      for (const [k, v] of Object.entries(r.otherEvents)) result.otherEvents[k] = (result.otherEvents[k] ?? 0) + v;
    }
    return result;
  }

  async disconnectAll(): Promise<void> {
    await this.all({ type: "disconnect-all" });
  }

  /** Safe to call more than once and from exit handlers: only signals. */
  kill(): void {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  }

  async stop(): Promise<void> {
    for (const child of this.children) child.disconnect();
    await new Promise((r) => setTimeout(r, 200));
    this.kill();
  }
}
