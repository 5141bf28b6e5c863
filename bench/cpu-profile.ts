/**
 * A CPU profile of a server's main thread over a bench step, taken through
 * its inspector (`node --cpu-prof` writes nothing when the bench stops the
 * server with a signal), and the top of it by self time.
 *
 * Only the main thread is profiled: the service's SQLite writer thread is an
 * isolate of its own, and on one core its run shows up in the main thread's
 * profile as time inside `postMessage` (docs/performance.md).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InspectorSession } from "./inspector-session.js";

/** Fine enough for items of a few µs per payment at 10,000/s over a step; the profiler's own cost shows in the step's CPU figures. */
export const PROFILE_SAMPLING_US = 250;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** The inspector's `Profiler.Profile`, as Chrome DevTools and `node --cpu-prof` files hold it. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  /** µs from the previous sample (the first: from `startTime`). */
  timeDeltas?: number[];
}

export interface ProfileItem {
  /** The function, or V8's `(garbage collector)` and `(program)`. */
  name: string;
  /** Its file and line, the file relative to `node_modules` or the build; empty for V8's own entries. */
  where: string;
  selfMs: number;
  percentOfBusy: number;
}

export interface ProfileSummary {
  /** Time the thread was not idle in the profile. */
  busyMs: number;
  top: ProfileItem[];
}

/** A profile saved for a step of the bench, and the top of it. */
export interface StepProfile extends ProfileSummary {
  file: string;
}

/**
 * Starts profiling the main thread of each process whose inspector listens on one of `inspectPorts`, when `dir` is
 * set; call the result to stop them all and save them in `dir` under the step's name (saveProfiles).
 */
export async function profileStep(
  dir: string | undefined,
  inspectPorts: readonly number[],
  step: string,
): Promise<(() => Promise<StepProfile[]>) | undefined> {
  if (dir === undefined) return undefined;
  const stops = await Promise.all(inspectPorts.map(startCpuProfile));
  return async () => saveProfiles(dir, step, await Promise.all(stops.map((stop) => stop())));
}

async function startCpuProfile(inspectPort: number): Promise<() => Promise<CpuProfile>> {
  const session = await InspectorSession.open(inspectPort);
  try {
    await session.call("Profiler.enable");
    await session.call("Profiler.setSamplingInterval", { interval: PROFILE_SAMPLING_US });
    await session.call("Profiler.start");
  } catch (error) {
    session.close();
    throw error;
  }
  return async () => {
    try {
      return (await session.call<{ profile: CpuProfile }>("Profiler.stop")).profile;
    } finally {
      session.close();
    }
  };
}

function shortLocation(url: string): string {
  const path = url.replace(/^file:\/\//, "");
  const inModules = path.lastIndexOf("node_modules/");
  if (inModules >= 0) return path.slice(inModules + "node_modules/".length);
  for (const root of ["/dist/", "/src/", "/bench/"]) {
    const at = path.lastIndexOf(root);
    if (at >= 0) return path.slice(at + 1);
  }
  return path;
}

/** The `top` functions by self time, idle left out of the busy time they are a share of. */
export function summarizeProfile(profile: CpuProfile, top = 10): ProfileSummary {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, { name: string; where: string; us: number }>();
  let busyUs = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const frame = nodes.get(samples[i]!)?.callFrame;
    const us = deltas[i] ?? 0;
    if (frame === undefined || frame.functionName === "(idle)") continue;
    busyUs += us;
    const name = frame.functionName || "(anonymous)";
    const where = frame.url === "" ? "" : `${shortLocation(frame.url)}:${frame.lineNumber + 1}`;
    const key = `${name} ${where}`;
    const item = selfUs.get(key);
    if (item === undefined) selfUs.set(key, { name, where, us });
    else item.us += us;
  }
  const items = [...selfUs.values()].sort((a, b) => b.us - a.us).slice(0, top);
  return {
    busyMs: Math.round(busyUs / 100) / 10,
    top: items.map(({ name, where, us }) => ({
      name,
      where,
      selfMs: Math.round(us / 100) / 10,
      percentOfBusy: busyUs > 0 ? Math.round((1000 * us) / busyUs) / 10 : 0,
    })),
  };
}

/** Writes a step's profiles into `dir`, one per server process (workers numbered), and sums each up. */
function saveProfiles(dir: string, step: string, profiles: readonly CpuProfile[]): StepProfile[] {
  mkdirSync(dir, { recursive: true });
  return profiles.map((profile, index) => {
    const name = `${step}${profiles.length > 1 ? `-worker${index + 1}` : ""}`.replace(/[^A-Za-z0-9.-]+/g, "-");
    const file = join(dir, `${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    return { file, ...summarizeProfile(profile) };
  });
}

/** One line for the bench's progress: the busy time, the first few functions, the file. */
export function profileLine(profile: StepProfile): string {
  const top = profile.top.slice(0, 6).map((item) => `${item.name} ${item.percentOfBusy}%`);
  return `main thread profile: ${profile.busyMs} ms busy; ${top.join(", ")} (${profile.file})`;
}
