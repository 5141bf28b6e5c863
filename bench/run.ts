/**
 * `npm run bench` — drives the service and the plain Socket.IO baseline with
 * the same load and writes bench/results/<timestamp>.{json,md}.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseBenchOptions, REPO_ROOT, type BenchOptions, type TargetName } from "./bench-options.js";
import { METHOD_NOTES, pinningLine, renderMarkdown, summaryTable, type BenchReport, type PinningReport, type TargetReport } from "./bench-report.js";
import { targetsTable } from "./bench-targets.js";
import { Cleanup } from "./cleanup.js";
import { allowedCores, pinProcess, planCores, type CorePlan } from "./cpu-pinning.js";
import { ephemeralPortCount, openFileLimit } from "./proc-stats.js";
import type { ScenarioContext } from "./scenario-context.js";
import { runConnect } from "./scenarios/connect.js";
import { runFanOut } from "./scenarios/fan-out.js";
import { runIngest } from "./scenarios/ingest.js";
import { runReconnectStorm } from "./scenarios/reconnect-storm.js";
import { runReplay } from "./scenarios/replay.js";
import { runUnicast } from "./scenarios/unicast.js";
import { runWebhooks } from "./scenarios/webhooks.js";
import type { TargetSpec } from "./server-process.js";
import { WorkerPool } from "./worker-pool.js";

const NO_STORAGE = "the baseline keeps nothing, so there is nothing durable to count or replay";

function targetSpec(name: TargetName, options: BenchOptions, cores: CorePlan): TargetSpec {
  const pinned = cores.serverCores === undefined ? {} : { cores: cores.serverCores };
  return name === "service"
    ? { name, command: options.serviceCommand, cwd: options.serviceCwd, workers: options.serviceWorkers, ...pinned }
    : { name, command: options.baselineCommand, cwd: REPO_ROOT, workers: 1, ...pinned };
}

/** The service is being built alongside; until its entry point exists there is nothing to start. */
function serviceUnavailable(options: BenchOptions): string | undefined {
  const entry = options.serviceCommand.find((arg) => /\.(ts|js|mjs)$/.test(arg));
  if (entry && !existsSync(join(options.serviceCwd, entry))) return `${entry} not found in ${options.serviceCwd}`;
  return undefined;
}

function progress(line: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
}

async function attempt<T>(report: TargetReport, scenario: string, body: () => Promise<T>): Promise<T | undefined> {
  try {
    return await body();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    report.errors.push({ scenario, message });
    progress(`${report.name.padEnd(8)} ${scenario} FAILED: ${message.split("\n")[0] ?? ""}`);
    return undefined;
  }
}

/** One scenario step, run against each target in turn. */
interface Step {
  label: string;
  run(ctx: ScenarioContext, report: TargetReport): Promise<void>;
}

/**
 * The steps in order. Each runs on every target before the next begins, so a
 * service figure and the baseline's it is compared with are measured minutes
 * apart at most, not a whole run apart: this shared machine's speed drifts.
 */
function steps(options: BenchOptions): Step[] {
  const list: Step[] = [];
  const step = <T>(label: string, run: (ctx: ScenarioContext) => Promise<T>, keep: (report: TargetReport, result: T) => void): Step => ({
    label,
    async run(ctx, report) {
      const result = await attempt(report, label, () => run(ctx));
      if (result !== undefined) keep(report, result);
    },
  });
  // The baseline stores nothing: for it these steps only say why they are empty.
  const serviceOnly = (inner: Step, onBaseline: (report: TargetReport) => void): Step => ({
    label: inner.label,
    async run(ctx, report) {
      if (ctx.target.name === "baseline") onBaseline(report);
      else await inner.run(ctx, report);
    },
  });
  if (options.scenarios.has("connect")) {
    for (const clients of options.connectCounts) {
      list.push(step(`connect ${clients}`, (ctx) => runConnect(ctx, clients), (report, r) => report.connect.push(r)));
    }
  }
  if (options.scenarios.has("unicast")) {
    list.push(step("unicast", runUnicast, (report, r) => (report.unicast = r)));
  }
  if (options.scenarios.has("fanout")) {
    for (const plan of options.fanOut) {
      list.push(step(`fan-out ${plan.subscribersPerId}`, (ctx) => runFanOut(ctx, plan), (report, r) => report.fanOut.push(r)));
    }
  }
  if (options.scenarios.has("ingest")) {
    for (const plan of options.ingest) {
      const inner = step(`ingest batch ${plan.batchSize}`, (ctx) => runIngest(ctx, plan), (report, r) => report.ingest.push(r));
      list.push(serviceOnly(inner, (report) => (report.ingestNotApplicable = NO_STORAGE)));
    }
  }
  if (options.scenarios.has("replay")) {
    const inner = step("replay", runReplay, (report, r) => (report.replay = r));
    list.push(serviceOnly(inner, (report) => (report.replayNotApplicable = NO_STORAGE)));
  }
  if (options.scenarios.has("reconnect-storm")) {
    list.push(step("reconnect-storm", runReconnectStorm, (report, r) => (report.reconnectStorm = r)));
  }
  if (options.scenarios.has("webhooks")) {
    const inner = step("webhooks", runWebhooks, (report, r) => (report.webhooks = r));
    list.push(serviceOnly(inner, (report) => (report.webhooksNotApplicable = "the baseline has no webhooks")));
  }
  return list;
}

function generatorPeaks(targets: readonly TargetReport[]): { worker: number; publisher: number } {
  let worker = 0;
  let publisher = 0;
  for (const t of targets) {
    const steps = [...(t.unicast?.steps ?? []), ...t.fanOut.flatMap((f) => f.steps)];
    for (const s of steps) {
      worker = Math.max(worker, ...s.workerCpuPercent);
      publisher = Math.max(publisher, s.publisherCpuPercent);
    }
    for (const c of t.connect) worker = Math.max(worker, ...(c.workerCpuPercent ?? []));
    for (const i of t.ingest) publisher = Math.max(publisher, i.publisherCpuPercent);
    worker = Math.max(worker, ...(t.reconnectStorm?.workerCpuPercent ?? []));
  }
  return { worker, publisher };
}

async function main(): Promise<void> {
  const options = parseBenchOptions(process.argv.slice(2));
  const cleanup = new Cleanup();
  cleanup.installProcessHandlers();
  const startedAt = new Date();
  const runTag = `bench-${randomBytes(4).toString("hex")}`;
  progress(`mode ${options.quick ? "quick" : "full"}, ${options.workers} load workers, targets ${options.targets.join(", ")}`);
  progress(`open-file limit ${openFileLimit(process.pid)} (hard limit applies to the server too), ${ephemeralPortCount()} ephemeral ports`);

  const cores = planCores(options);
  if (cores.generatorCores !== undefined && cores.serverCores !== undefined) {
    // Before the load workers are forked, so they inherit the generator's cores.
    pinProcess(process.pid, cores.generatorCores);
    progress(`pinned: server on cores ${cores.serverCores}, generator (this process and the load workers) on ${cores.generatorCores}`);
  } else {
    console.warn(`bench: server and generator NOT pinned (${cores.unpinnedBecause ?? "?"}); they share every core`);
  }
  const pool = await WorkerPool.start(options.workers);
  cleanup.add(() => pool.kill());
  const pinning: PinningReport = {
    ...cores,
    orchestratorAllowed: allowedCores(process.pid),
    workersAllowed: pool.pids.map(allowedCores),
    serverAllowed: {},
  };
  const runs = options.targets.map((name) => {
    const target = targetSpec(name, options, cores);
    const report: TargetReport = { name, command: target.workers > 1 ? `WORKERS=${target.workers} ${target.command.join(" ")}` : target.command.join(" "), errors: [], connect: [], fanOut: [], ingest: [] };
    const missing = name === "service" ? serviceUnavailable(options) : undefined;
    if (missing !== undefined) {
      report.unavailable = missing;
      progress(`service: not available (${missing}); skipping`);
    } else {
      progress(`${name}: ${report.command}`);
    }
    // Each line a scenario prints names its target, as the two now take turns.
    const prefixed = (line: string) => progress(`${name.padEnd(8)} ${line.trimStart()}`);
    const ctx: ScenarioContext = {
      target,
      pool,
      cleanup,
      apiKey: `bench-${runTag}`,
      options,
      runTag,
      progress: prefixed,
      onServerStarted: (pid) => (pinning.serverAllowed[name] ??= allowedCores(pid)),
    };
    return { ctx, report };
  });
  try {
    for (const step of steps(options)) {
      for (const { ctx, report } of runs) {
        if (report.unavailable === undefined) await step.run(ctx, report);
      }
    }
  } finally {
    await pool.stop();
  }
  const targets = runs.map((run) => run.report);

  const peaks = generatorPeaks(targets);
  const cpuList = cpus();
  const report: BenchReport = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    mode: options.quick ? "quick" : "full",
    machine: {
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model ?? "?",
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      openFileLimit: openFileLimit(process.pid),
      ephemeralPorts: ephemeralPortCount(),
    },
    method: METHOD_NOTES,
    pinning,
    generator: { workers: options.workers, maxWorkerCpuPercent: Math.round(peaks.worker), maxPublisherCpuPercent: Math.round(peaks.publisher) },
    targets,
  };
  mkdirSync(options.outDir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  const jsonPath = join(options.outDir, `${stamp}.json`);
  const mdPath = join(options.outDir, `${stamp}.md`);
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(mdPath, renderMarkdown(report));
  console.log(`\n${summaryTable(report)}\n\n${targetsTable(report)}\n`);
  console.log(pinningLine(pinning));
  console.log(`generator: busiest worker ${report.generator.maxWorkerCpuPercent}% of a core, publisher ${report.generator.maxPublisherCpuPercent}%`);
  console.log(`wrote ${jsonPath}\nwrote ${mdPath}`);
  const failures = targets.flatMap((t) => t.errors.map((e) => `${t.name} ${e.scenario}`));
  if (failures.length > 0) {
    console.error(`scenarios failed: ${failures.join(", ")}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
