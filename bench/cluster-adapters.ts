/**
 * `npm run bench:cluster` — compares the Socket.IO Redis adapters for the
 * cluster link on one workload: two node processes on one redis-server, node A
 * sending paced payments as server-side events, clients on node B. Per adapter
 * and repeat it steps the rate up to saturation (deliveries/s at the clients,
 * latency p50/p99 from A's send to the client), then pauses redis-server with
 * SIGSTOP while A keeps publishing and samples A's RSS, once with nothing
 * bounding A's queue and once with the service's pending-publish cap.
 * Writes bench/results/cluster-adapters-<timestamp>.{json,md}.
 *
 *   npm run bench:cluster -- [--adapters classic,sharded,streams] [--repeats 2]
 *     [--rates 2000,5000,…] [--step-seconds 5] [--clients 100]
 *     [--pause-seconds 10] [--pause-rate 5000] [--quick]
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startRedisServer, type RedisServer } from "../test/support/redis-server.js";
import { Cleanup } from "./cleanup.js";
import type { NodeCommand, NodeReply } from "./cluster-protocol.js";
import { EioClient } from "./eio-client.js";
import { LatencyHistogram } from "./latency-histogram.js";
import { cpuPercent, machineBusyPercent, sampleMachine, sampleProcess } from "./proc-stats.js";

const ADAPTERS = ["classic", "sharded", "streams"] as const;
type AdapterName = (typeof ADAPTERS)[number];
const NODE_SCRIPT = fileURLToPath(new URL("./cluster-node.ts", import.meta.url));
const RESULTS = fileURLToPath(new URL("./results/", import.meta.url));
/** The service's default CLUSTER_MAX_PENDING_PUBLISHES. */
const SERVICE_PENDING_CAP = 10_000;
/** After a step's last send, how long deliveries still count towards it. */
const DRAIN_MS = 1500;
/** A step below this share of the offered rate, or with p99 above the bound, is past saturation. */
const SATURATED_SHARE = 0.95;
const SATURATED_P99_MS = 1000;

const { values } = parseArgs({
  options: {
    adapters: { type: "string", default: ADAPTERS.join(",") },
    repeats: { type: "string", default: "2" },
    rates: { type: "string", default: "2000,5000,8000,11000,14000,18000,24000,32000" },
    "step-seconds": { type: "string", default: "5" },
    clients: { type: "string", default: "100" },
    "pause-seconds": { type: "string", default: "10" },
    "pause-rate": { type: "string", default: "5000" },
    quick: { type: "boolean", default: false },
  },
});
const quick = values.quick;
const adapters = values.adapters.split(",").map((name) => {
  if (!ADAPTERS.includes(name as AdapterName)) throw new Error(`--adapters: unknown adapter ${name}`);
  return name as AdapterName;
});
const repeats = quick ? 1 : Number(values.repeats);
const rates = (quick ? "1000,4000" : values.rates).split(",").map(Number);
const stepSeconds = quick ? 2 : Number(values["step-seconds"]);
const clientCount = quick ? 20 : Number(values.clients);
const pauseSeconds = quick ? 2 : Number(values["pause-seconds"]);
const pauseRate = quick ? 1000 : Number(values["pause-rate"]);

interface StepResult {
  offeredPerS: number;
  sentPerS: number;
  deliveredPerS: number;
  p50Ms: number;
  p99Ms: number;
  cpuA: number;
  cpuB: number;
  cpuRedis: number;
  machineBusy: number;
}
interface PauseResult {
  cap: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  growthMb: number;
  growthMbPerS: number;
  shed: number;
  maxQueue: number;
  /** Deliveries on B once Redis was back, minus those before the pause. */
  deliveredAfterResume: number;
}
interface RunResult {
  adapter: AdapterName;
  repeat: number;
  steps: StepResult[];
  saturationPerS: number;
  pauses: PauseResult[];
  error?: string;
}

const cleanup = new Cleanup();
cleanup.installProcessHandlers();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

class NodeHandle {
  private readonly waiting = new Map<NodeReply["type"], (reply: NodeReply) => void>();
  readonly ready: Promise<number>;

  constructor(readonly child: ChildProcess) {
    child.on("message", (reply: NodeReply) => {
      const resolve = this.waiting.get(reply.type);
      this.waiting.delete(reply.type);
      resolve?.(reply);
    });
    this.ready = this.next("ready").then((reply) => (reply as Extract<NodeReply, { type: "ready" }>).port);
    cleanup.add(() => child.kill("SIGKILL"));
  }

  static start(adapter: AdapterName, redisUrl: string): NodeHandle {
    const child = fork(NODE_SCRIPT, [], {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, ADAPTER: adapter, REDIS_URL: redisUrl, PORT: "0" },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    return new NodeHandle(child);
  }

  private next(type: NodeReply["type"], timeoutMs = 60_000): Promise<NodeReply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} from node within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(type, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
    });
  }

  async run(command: Omit<Extract<NodeCommand, { type: "run" }>, "type">) {
    const done = this.next("done", (command.seconds + 60) * 1000);
    this.child.send({ type: "run", ...command } satisfies NodeCommand);
    return (await done) as Extract<NodeReply, { type: "done" }>;
  }

  async stats() {
    const reply = this.next("stats", 10_000);
    this.child.send({ type: "stats" } satisfies NodeCommand);
    return (await reply) as Extract<NodeReply, { type: "stats" }>;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.send({ type: "stop" } satisfies NodeCommand);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** The clients on node B: each subscribes to one tracking ID and stamps latency from the amount. */
class Receivers {
  delivered = 0;
  histogram = new LatencyHistogram();
  private readonly clients: EioClient[] = [];

  async connect(port: number, trackingIds: string[]): Promise<void> {
    let acks = 0;
    for (const trackingId of trackingIds) {
      const client = new EioClient(
        { baseUrl: `ws://127.0.0.1:${port}`, path: "/ws/v1" },
        {
          onEvent: (name, raw) => {
            if (name === "ack") acks++;
            else if (name === "payment") this.onPayment(raw);
          },
        },
      );
      await client.connect();
      client.emit("subscribe", { trackingId });
      this.clients.push(client);
    }
    for (let i = 0; i < 500 && acks < trackingIds.length; i++) await sleep(10);
    if (acks < trackingIds.length) throw new Error(`only ${acks} of ${trackingIds.length} subscribes acknowledged`);
  }

  private onPayment(raw: string): void {
    this.delivered++;
    const key = '"amountRaw":"';
    const at = raw.indexOf(key);
    if (at < 0) return;
    const end = raw.indexOf('"', at + key.length);
    const sentUs = Number(raw.slice(at + key.length, end));
    this.histogram.record(Number(process.hrtime.bigint() / 1000n) - sentUs);
  }

  reset(): void {
    this.delivered = 0;
    this.histogram = new LatencyHistogram();
  }

  close(): void {
    for (const client of this.clients) client.close();
  }
}

async function measureStep(a: NodeHandle, b: NodeHandle, redis: RedisServer, receivers: Receivers, trackingIds: string[], rate: number) {
  const pids = [a.child.pid!, b.child.pid!, redis.pid!];
  const before = pids.map(sampleProcess);
  const machineBefore = sampleMachine();
  receivers.reset();
  const done = await a.run({ rate, seconds: stepSeconds, trackingIds, maxPending: 0 });
  // Deliveries still in flight at the last send count towards this step, bounded by the drain window.
  const drainUntil = Date.now() + DRAIN_MS;
  while (Date.now() < drainUntil && receivers.delivered < done.sent) await sleep(20);
  const after = pids.map(sampleProcess);
  const machineAfter = sampleMachine();
  const windowS = (done.elapsedMs + Math.min(DRAIN_MS, Date.now() - (drainUntil - DRAIN_MS))) / 1000;
  const summary = receivers.histogram.summary();
  const cpu = (i: number) => round(cpuPercent(before[i]!, after[i]!), 0);
  const step: StepResult = {
    offeredPerS: rate,
    sentPerS: Math.round(done.sent / (done.elapsedMs / 1000)),
    deliveredPerS: Math.round(receivers.delivered / Math.max(windowS, stepSeconds)),
    p50Ms: round(summary.p50Ms, 2),
    p99Ms: round(summary.p99Ms, 2),
    cpuA: cpu(0),
    cpuB: cpu(1),
    cpuRedis: cpu(2),
    machineBusy: round(machineBusyPercent(machineBefore, machineAfter), 0),
  };
  // Let a backlog from an overloaded step clear before the next one.
  const settleUntil = Date.now() + 15_000;
  let last = -1;
  while (Date.now() < settleUntil && receivers.delivered !== last) {
    last = receivers.delivered;
    await sleep(300);
  }
  return step;
}

async function measurePause(a: NodeHandle, b: NodeHandle, redis: RedisServer, trackingIds: string[], cap: number): Promise<PauseResult> {
  const lead = 2;
  const tail = 3;
  const pid = redis.pid!;
  const rssBefore = sampleProcess(a.child.pid!).rssKb;
  const receivedBefore = (await b.stats()).received;
  const running = a.run({ rate: pauseRate, seconds: lead + pauseSeconds + tail, trackingIds, maxPending: cap });
  await sleep(lead * 1000);
  process.kill(pid, "SIGSTOP");
  // Whatever happens below, Redis must not stay frozen.
  const resume = cleanup.add(() => process.kill(pid, "SIGCONT"));
  let peak = rssBefore;
  const pauseEnd = Date.now() + pauseSeconds * 1000;
  while (Date.now() < pauseEnd) {
    await sleep(250);
    peak = Math.max(peak, sampleProcess(a.child.pid!).rssKb);
  }
  process.kill(pid, "SIGCONT");
  resume();
  const done = await running;
  // Bounded wait for A's backlog to reach B, so the next measurement starts clean.
  const drainUntil = Date.now() + 30_000;
  let stats = await a.stats();
  while (Date.now() < drainUntil && stats.queue > 0) {
    await sleep(250);
    stats = await a.stats();
  }
  await sleep(1000);
  const receivedAfter = (await b.stats()).received;
  const growthMb = (peak - rssBefore) / 1024;
  return {
    cap,
    rssBeforeMb: round(rssBefore / 1024),
    rssPeakMb: round(peak / 1024),
    growthMb: round(growthMb),
    growthMbPerS: round(growthMb / pauseSeconds, 2),
    shed: done.shed,
    maxQueue: done.maxQueue,
    deliveredAfterResume: receivedAfter - receivedBefore,
  };
}

async function benchAdapter(adapter: AdapterName, repeat: number): Promise<RunResult> {
  const result: RunResult = { adapter, repeat, steps: [], saturationPerS: 0, pauses: [] };
  const redis = await startRedisServer();
  const a = NodeHandle.start(adapter, redis.url);
  const b = NodeHandle.start(adapter, redis.url);
  const receivers = new Receivers();
  try {
    await a.ready;
    const portB = await b.ready;
    const trackingIds = Array.from({ length: clientCount }, (_, i) => `bench-${i}`);
    await receivers.connect(portB, trackingIds);
    // Both nodes must see each other before counting; the streams adapter learns of peers by heartbeat.
    await a.run({ rate: 500, seconds: 2, trackingIds, maxPending: 0 });
    await sleep(500);
    for (const rate of rates) {
      const step = await measureStep(a, b, redis, receivers, trackingIds, rate);
      result.steps.push(step);
      log(
        `${adapter}#${repeat} ${rate}/s: sent ${step.sentPerS}/s, delivered ${step.deliveredPerS}/s, p50 ${step.p50Ms} ms, p99 ${step.p99Ms} ms, ` +
          `cpu A ${step.cpuA}% B ${step.cpuB}% redis ${step.cpuRedis}%, machine ${step.machineBusy}%`,
      );
      // Two failing steps in a row, so one hiccup from a neighbour on a shared machine does not end the run.
      const failing = (s: StepResult) => s.deliveredPerS < s.offeredPerS * SATURATED_SHARE || s.p99Ms > SATURATED_P99_MS;
      if (result.steps.length >= 2 && result.steps.slice(-2).every(failing)) break;
    }
    result.saturationPerS = Math.max(...result.steps.map((step) => step.deliveredPerS));
    for (const cap of [0, SERVICE_PENDING_CAP]) {
      const pause = await measurePause(a, b, redis, trackingIds, cap);
      result.pauses.push(pause);
      log(
        `${adapter}#${repeat} Redis paused ${pauseSeconds} s at ${pauseRate}/s, cap ${cap || "none"}: A's RSS ${pause.rssBeforeMb} → ${pause.rssPeakMb} MB ` +
          `(+${pause.growthMb} MB, ${pause.growthMbPerS} MB/s), shed ${pause.shed}, max queue ${pause.maxQueue}`,
      );
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    log(`${adapter}#${repeat} FAILED: ${result.error}`);
  } finally {
    receivers.close();
    await Promise.all([a.stop(), b.stop()]);
    await redis.close();
  }
  return result;
}

const spread = (numbers: number[]) =>
  numbers.length === 0 ? "n/a" : numbers.length === 1 ? String(numbers[0]) : `${Math.min(...numbers)}–${Math.max(...numbers)}`;

function markdown(runs: RunResult[], startedAt: string, command: string): string {
  const lines = [
    `# Cluster adapters — ${startedAt}`,
    "",
    `Command: \`${command}\`. Machine: ${cpus().length} cores, ${cpus()[0]?.model ?? "unknown CPU"}.`,
    `Two node processes and the clients' process share the cores with redis-server (and with anything else running on the machine).`,
    "",
    "## Summary (spread over repeats)",
    "",
    "| adapter | saturation deliveries/s | p50 / p99 ms at 5k/s | A's RSS growth, Redis paused, no cap | with cap 10k |",
    "|---|---|---|---|---|",
  ];
  for (const adapter of adapters) {
    const mine = runs.filter((run) => run.adapter === adapter && run.error === undefined);
    const at5k = mine.map((run) => run.steps.find((step) => step.offeredPerS === 5000)).filter((step) => step !== undefined);
    const growth = (cap: number) =>
      spread(mine.map((run) => run.pauses.find((pause) => pause.cap === cap)?.growthMb).filter((value) => value !== undefined)) + " MB";
    lines.push(
      `| ${adapter} | ${spread(mine.map((run) => run.saturationPerS))} | ${spread(at5k.map((s) => s.p50Ms))} / ${spread(at5k.map((s) => s.p99Ms))} | ${growth(0)} | ${growth(SERVICE_PENDING_CAP)} |`,
    );
  }
  for (const run of runs) {
    lines.push("", `## ${run.adapter}, repeat ${run.repeat}`, "");
    if (run.error !== undefined) lines.push(`Failed: ${run.error}`, "");
    lines.push("| offered/s | sent/s | delivered/s | p50 ms | p99 ms | CPU A % | CPU B % | CPU redis % | machine busy % |", "|---|---|---|---|---|---|---|---|---|");
    for (const s of run.steps) {
      lines.push(`| ${s.offeredPerS} | ${s.sentPerS} | ${s.deliveredPerS} | ${s.p50Ms} | ${s.p99Ms} | ${s.cpuA} | ${s.cpuB} | ${s.cpuRedis} | ${s.machineBusy} |`);
    }
    lines.push("", "| pending cap | RSS before MB | peak MB | growth MB | MB/s | shed | max queue | delivered after resume |", "|---|---|---|---|---|---|---|---|");
    for (const p of run.pauses) {
      lines.push(`| ${p.cap || "none"} | ${p.rssBeforeMb} | ${p.rssPeakMb} | ${p.growthMb} | ${p.growthMbPerS} | ${p.shed} | ${p.maxQueue} | ${p.deliveredAfterResume} |`);
    }
  }
  lines.push(
    "",
    "## Method",
    "",
    `- ${clientCount} clients on node B, one tracking ID each; node A sends round-robin over them, so deliveries/s equals messages/s across Redis.`,
    `- Steps of ${stepSeconds} s, offered rates ${rates.join(", ")}/s, stopping after two steps in a row that deliver under ${SATURATED_SHARE * 100}% of the offered rate or have p99 over ${SATURATED_P99_MS} ms; saturation is the best delivered rate.`,
    "- Latency: from A's send (process.hrtime, carried in the amount) to the client's receipt, all on one host.",
    `- Pause: A sends ${pauseRate}/s; after 2 s redis-server gets SIGSTOP for ${pauseSeconds} s, then SIGCONT; A's RSS is sampled every 250 ms.`,
    "- The store is left out on purpose: this compares the adapters, not PostgreSQL.",
  );
  return lines.join("\n") + "\n";
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const command = `npm run bench:cluster -- ${process.argv.slice(2).join(" ")}`.trim();
  const runs: RunResult[] = [];
  for (let repeat = 1; repeat <= repeats; repeat++) {
    for (const adapter of adapters) runs.push(await benchAdapter(adapter, repeat));
  }
  mkdirSync(RESULTS, { recursive: true });
  const stem = join(RESULTS, `cluster-adapters-${startedAt.replace(/[:.]/g, "-")}`);
  writeFileSync(`${stem}.json`, JSON.stringify({ startedAt, command, cores: cpus().length, runs }, null, 2));
  const report = markdown(runs, startedAt, command);
  writeFileSync(`${stem}.md`, report);
  console.log(`\n${report}\nWrote ${stem}.json and ${stem}.md`);
  if (runs.some((run) => run.error !== undefined)) process.exitCode = 1;
}

await main().finally(() => cleanup.runAll());
