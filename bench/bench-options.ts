/** Command-line flags and the quick/full presets they select. */
import { Command, Option } from "commander";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { FanOutPlan } from "./scenarios/fan-out.js";
import type { IngestPlan } from "./scenarios/ingest.js";
import type { StormPlan } from "./scenarios/reconnect-storm.js";

export const SCENARIOS = ["connect", "unicast", "fanout", "ingest", "replay", "webhooks", "reconnect-storm"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
/** --quick leaves out the storm (two server starts and a restart, ~25 s) so the smoke run stays near a minute; name it to run it. */
const QUICK_SCENARIOS: readonly ScenarioName[] = SCENARIOS.filter((s) => s !== "reconnect-storm");
export type TargetName = "service" | "baseline";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export interface BenchOptions {
  quick: boolean;
  targets: TargetName[];
  scenarios: Set<ScenarioName>;
  serviceCommand: string[];
  serviceCwd: string;
  baselineCommand: string[];
  workers: number;
  /** The service's WORKERS: worker processes behind its primary; 1 runs it in one process. */
  serviceWorkers: number;
  outDir: string;
  connectCounts: number[];
  connectConcurrency: number;
  unicastSubscribers: number;
  /** Tracking IDs each unicast client watches: 1 is the bench's shape; more spread payments over as many IDs as real traffic does. */
  unicastIdsPerClient: number;
  unicastRates: number[];
  /** Unicast publishes what is due every this many ms as one request (issue 18's publisher shape). */
  publishIntervalMs: number;
  /** Payments per request for fan-out, published every 10 ms. */
  publishBatch: number;
  stepMs: number;
  drainMs: number;
  fanOut: FanOutPlan[];
  ingest: IngestPlan[];
  ingestMs: number;
  replayCount: number;
  /** Payments published for the webhook scenario, each delivered to one endpoint. */
  webhookCount: number;
  settleMs: number;
  storm: StormPlan;
  /** Pin the server to serverCores and the generator (orchestrator and load workers) to generatorCores. */
  pin: boolean;
  serverCores: string;
  /** A trailing "-" runs to the last core. */
  generatorCores: string;
  /** Where each connect and rate step writes a CPU profile of the server's main thread (cpu-profile.ts); none when undefined. */
  cpuProfileDir?: string;
}

type Preset = Omit<
  BenchOptions,
  | "quick"
  | "targets"
  | "scenarios"
  | "serviceCommand"
  | "serviceCwd"
  | "baselineCommand"
  | "workers"
  | "serviceWorkers"
  | "outDir"
  | "pin"
  | "serverCores"
  | "generatorCores"
  | "publishIntervalMs"
  | "unicastIdsPerClient"
  | "cpuProfileDir"
>;

/** Unicast steps every ladder runs, whatever saturates first: targets 2 (5,000/s) and 3–4 (10,000/s) are judged there. */
export const REQUIRED_UNICAST_RATES = [5000, 10_000] as const;

const FULL: Preset = {
  connectCounts: [1000, 10_000, 50_000],
  connectConcurrency: 64,
  unicastSubscribers: 2000,
  unicastRates: [2000, 5000, 10_000, 15_000, 20_000, 25_000, 30_000, 35_000, 40_000, 50_000],
  publishBatch: 100,
  stepMs: 5000,
  drainMs: 15_000,
  fanOut: [
    { subscribersPerId: 100, hotIds: 10, paymentRates: [20, 50, 100, 200, 300, 400, 600, 800, 1000, 1200, 1600, 2000, 2400] },
    { subscribersPerId: 1000, hotIds: 2, paymentRates: [5, 10, 20, 30, 40, 60, 80, 100, 120, 160, 200, 240] },
  ],
  ingest: [
    { batchSize: 1, concurrency: 32 },
    { batchSize: 100, concurrency: 8 },
    { batchSize: 1000, concurrency: 4 },
  ],
  ingestMs: 5000,
  replayCount: 10_000,
  webhookCount: 5000,
  settleMs: 2000,
  storm: { clients: 10_000, paymentRate: 2000, beforeMs: 5000, afterMs: 5000, drainMs: 30_000 },
};

/** Sized to finish both targets in under a minute: a smoke run, not a measurement. */
const QUICK: Preset = {
  connectCounts: [1000],
  connectConcurrency: 64,
  unicastSubscribers: 300,
  unicastRates: [5000, 10_000],
  publishBatch: 100,
  stepMs: 1000,
  drainMs: 2000,
  fanOut: [
    { subscribersPerId: 100, hotIds: 3, paymentRates: [50] },
    { subscribersPerId: 1000, hotIds: 1, paymentRates: [10] },
  ],
  ingest: [
    { batchSize: 1, concurrency: 16 },
    { batchSize: 100, concurrency: 4 },
    { batchSize: 1000, concurrency: 2 },
  ],
  ingestMs: 1000,
  replayCount: 2000,
  webhookCount: 500,
  settleMs: 300,
  storm: { clients: 1000, paymentRate: 2000, beforeMs: 1000, afterMs: 1000, drainMs: 10_000 },
};

function list(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`expected a positive integer, got ${value}`);
  return n;
}

/** A space-separated argv. */
function words(text: string): string[] {
  return text.split(/\s+/).filter((word) => word.length > 0);
}

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const program = new Command()
    .name("bench")
    .description("Load benchmark: tributary-ws service vs a plain Socket.IO baseline")
    .option("--quick", "CI smoke run, under a minute", false)
    .option("--targets <list>", "service,baseline", "service,baseline")
    .addOption(new Option("--scenarios <list>", `subset of ${SCENARIOS.join(",")} (default: all; with --quick all but reconnect-storm)`))
    .option("--service-cmd <command>", "how to start the service (space-separated argv)", "node --import tsx src/main.ts")
    .option("--service-cwd <dir>", "working directory for --service-cmd", REPO_ROOT)
    .option("--baseline-node-flags <flags>", "Node flags for the plain Socket.IO baseline, e.g. --single-threaded-gc (space-separated)", "")
    .option("--workers <n>", "load-generator processes", positiveInt, 3)
    .option("--service-workers <n>", "worker processes of the service (its WORKERS setting); 1 runs it in one process", positiveInt, 1)
    .option("--connect-counts <list>", "override connection counts, e.g. 1000,10000")
    .option("--unicast-rates <list>", "override unicast payment rates, e.g. 5000,20000,40000")
    .option("--step-ms <ms>", "override the publish window per rate step", positiveInt)
    .option("--publish-interval-ms <ms>", "unicast: publish what is due every <ms> as one request", positiveInt, 5)
    .option(
      "--unicast-ids-per-client <n>",
      "unicast: tracking IDs each client watches (at most the service's MAX_SUBSCRIPTIONS_PER_SOCKET, 100), each still with one subscriber",
      positiveInt,
      1,
    )
    .option("--storm-clients <n>", "reconnect-storm: subscribed clients (full 10000, quick 1000)", positiveInt)
    .option("--server-cores <list>", "taskset cores for the server's process tree", "0")
    .option("--generator-cores <list>", "taskset cores for the orchestrator and load workers (trailing - runs to the last core)", "1-")
    .option("--no-pin", "run server and generator unpinned")
    .option("--out <dir>", "where reports go", resolve(REPO_ROOT, "bench/results"))
    .option("--cpu-profile <dir>", "write a CPU profile of the server's main thread for each connect, unicast and fan-out step into <dir>")
    .allowExcessArguments(false);
  program.parse(argv as string[], { from: "user" });
  const flags = program.opts<{
    quick: boolean;
    targets: string;
    scenarios?: string;
    serviceCmd: string;
    serviceCwd: string;
    baselineNodeFlags: string;
    workers: number;
    serviceWorkers: number;
    connectCounts?: string;
    unicastRates?: string;
    stepMs?: number;
    publishIntervalMs: number;
    unicastIdsPerClient: number;
    stormClients?: number;
    serverCores: string;
    generatorCores: string;
    pin: boolean;
    out: string;
    cpuProfile?: string;
  }>();

  const targets = list(flags.targets);
  for (const t of targets) if (t !== "service" && t !== "baseline") throw new Error(`unknown target ${t}`);
  const scenarios = flags.scenarios === undefined ? [...(flags.quick ? QUICK_SCENARIOS : SCENARIOS)] : list(flags.scenarios);
  for (const s of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario ${s}`);
  }
  const preset = flags.quick ? QUICK : FULL;
  return {
    ...preset,
    ...(flags.connectCounts ? { connectCounts: list(flags.connectCounts).map(positiveInt) } : {}),
    ...(flags.unicastRates ? { unicastRates: list(flags.unicastRates).map(positiveInt) } : {}),
    ...(flags.stepMs ? { stepMs: flags.stepMs } : {}),
    ...(flags.stormClients ? { storm: { ...preset.storm, clients: flags.stormClients } } : {}),
    publishIntervalMs: flags.publishIntervalMs,
    unicastIdsPerClient: flags.unicastIdsPerClient,
    pin: flags.pin,
    serverCores: flags.serverCores,
    generatorCores: flags.generatorCores,
    quick: flags.quick,
    targets: targets as TargetName[],
    scenarios: new Set(scenarios as ScenarioName[]),
    serviceCommand: words(flags.serviceCmd),
    serviceCwd: resolve(flags.serviceCwd),
    baselineCommand: ["node", ...words(flags.baselineNodeFlags), "--import", "tsx", resolve(REPO_ROOT, "bench/baseline-server.ts")],
    workers: flags.workers,
    serviceWorkers: flags.serviceWorkers,
    outDir: resolve(flags.out),
    ...(flags.cpuProfile === undefined ? {} : { cpuProfileDir: resolve(flags.cpuProfile) }),
  };
}
