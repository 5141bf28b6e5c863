/**
 * Pins the server under test to its own cores and the load generator to the
 * others, so a service/baseline ratio is per server core and the generator
 * cannot take the server's CPU (issue 18, "How to measure"). `taskset` from
 * util-linux does the pinning; children and threads inherit an affinity.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";

export interface CorePlan {
  /** `taskset` core lists, e.g. "0" and "1-3"; undefined when nothing is pinned. */
  serverCores?: string;
  generatorCores?: string;
  /** Why nothing is pinned, when it is not. */
  unpinnedBecause?: string;
}

/** Expands a core list such as "0,2-3" into its core numbers; throws on anything else. */
export function parseCoreList(list: string): number[] {
  const cores = new Set<number>();
  for (const part of list.split(",")) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match?.[1]) throw new Error(`not a core list: ${list} (expected e.g. 0 or 1-3 or 0,2)`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) throw new Error(`not a core list: ${list} (${part} runs backwards)`);
    for (let core = first; core <= last; core++) cores.add(core);
  }
  return [...cores].sort((a, b) => a - b);
}

function tasksetAvailable(): boolean {
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * The cores each side gets. "1-" (open end) means every core from 1 on.
 * Pinning needs two or more cores and `taskset`; without either it is off,
 * and the reason goes into the report.
 */
export function planCores(options: { pin: boolean; serverCores: string; generatorCores: string }): CorePlan {
  if (!options.pin) return { unpinnedBecause: "--no-pin" };
  const count = cpus().length;
  if (count < 2) return { unpinnedBecause: `only ${count} core` };
  if (!tasksetAvailable()) return { unpinnedBecause: "taskset (util-linux) not found" };
  let generatorCores = options.generatorCores.endsWith("-") ? `${options.generatorCores}${count - 1}` : options.generatorCores;
  // "1-1" reads oddly in a report; it is core 1.
  const single = /^(\d+)-(\d+)$/.exec(generatorCores);
  if (single?.[1] !== undefined && single[1] === single[2]) generatorCores = single[1];
  const server = parseCoreList(options.serverCores);
  const generator = parseCoreList(generatorCores);
  for (const core of [...server, ...generator]) {
    if (core >= count) throw new Error(`core ${core} does not exist: this machine has cores 0-${count - 1}`);
  }
  const shared = server.filter((core) => generator.includes(core));
  if (shared.length > 0) throw new Error(`--server-cores and --generator-cores share core ${shared.join(",")}`);
  return { serverCores: options.serverCores, generatorCores };
}

/** Pins a running process and all its threads (the orchestrator: publisher, and parent of the load workers). */
export function pinProcess(pid: number, cores: string): void {
  execFileSync("taskset", ["-a", "-p", "-c", cores, String(pid)], { stdio: "ignore" });
}

/** argv that starts `command` on `cores`; taskset execs it, so the pid is the command's own. */
export function pinnedCommand(cores: string | undefined, command: readonly string[]): string[] {
  return cores === undefined ? [...command] : ["taskset", "-c", cores, ...command];
}

/** The cores a process may run on, as the kernel says (to show the pinning held). */
export function allowedCores(pid: number): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? "?";
  } catch {
    return "?";
  }
}
