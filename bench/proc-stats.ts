/**
 * CPU and memory of another process, read from /proc so the server under
 * test needs no cooperation (the service exposes no such endpoint).
 */
import { readdirSync, readFileSync } from "node:fs";

/** Linux USER_HZ; fixed at 100 on every mainstream kernel build. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcSample {
  /** user + system CPU time of all threads, in ms. */
  cpuMs: number;
  /**
   * The part of `cpuMs` spent on each process's main thread: a Node server's
   * event loop, apart from its worker threads (the SQLite writer), GC helpers
   * and libuv's pool, so a step shows which side of that line its cost is on.
   */
  mainThreadCpuMs: number;
  rssKb: number;
  /** Bytes this process caused to be sent to storage (/proc/<pid>/io write_bytes, all threads), page cache included. */
  writeBytes: number;
  atMs: number;
}

export function sampleProcess(pid: number): ProcSample {
  const ticks = cpuTicksOf(`/proc/${pid}/stat`);
  // The main thread's task has the process's id.
  const mainThreadTicks = cpuTicksOf(`/proc/${pid}/task/${pid}/stat`);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssMatch = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return {
    cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND,
    mainThreadCpuMs: (mainThreadTicks * 1000) / CLOCK_TICKS_PER_SECOND,
    rssKb: rssMatch?.[1] ? Number(rssMatch[1]) : Number.NaN,
    writeBytes: writeBytesOf(pid),
    atMs: performance.now(),
  };
}

/** user + system ticks from a /proc stat file: a whole process's, or one thread's under task/. */
function cpuTicksOf(statPath: string): number {
  const stat = readFileSync(statPath, "utf8");
  // The command name may contain spaces and parentheses; fields resume after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the name, utime and stime are fields 12 and 13 (0-based).
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * write_bytes counts a page when the process dirties it (WAL appends and
 * checkpoints alike), at the process level for all its threads, so the
 * SQLite writer thread is included. NaN where the kernel keeps no I/O accounting.
 */
function writeBytesOf(pid: number): number {
  const io = readFileOrEmpty(`/proc/${pid}/io`);
  const match = /^write_bytes:\s+(\d+)/m.exec(io);
  return match?.[1] ? Number(match[1]) : Number.NaN;
}

/**
 * One sample over a process and its descendants: a service running worker
 * processes spends its CPU and memory in them, not in the primary.
 */
export function sampleProcessTree(pid: number): ProcSample {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    const children = readdirSync(`/proc/${pids[i]}/task`).flatMap((task) =>
      readFileOrEmpty(`/proc/${pids[i]}/task/${task}/children`).split(" ").filter((child) => child.length > 0).map(Number),
    );
    pids.push(...children);
  }
  const samples = pids.flatMap((each) => {
    try {
      return [sampleProcess(each)];
    } catch {
      return []; // exited between the listing and the read
    }
  });
  return {
    cpuMs: samples.reduce((total, sample) => total + sample.cpuMs, 0),
    mainThreadCpuMs: samples.reduce((total, sample) => total + sample.mainThreadCpuMs, 0),
    rssKb: samples.reduce((total, sample) => total + sample.rssKb, 0),
    writeBytes: samples.reduce((total, sample) => total + sample.writeBytes, 0),
    atMs: performance.now(),
  };
}

function readFileOrEmpty(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** CPU use between two samples as a percentage of one core: all threads', or (`mainThread`) the main threads' alone. */
export function cpuPercent(from: ProcSample, to: ProcSample, mainThread = false): number {
  const wall = to.atMs - from.atMs;
  const cpuMs = mainThread ? to.mainThreadCpuMs - from.mainThreadCpuMs : to.cpuMs - from.cpuMs;
  return wall > 0 ? (100 * cpuMs) / wall : 0;
}

export function openFileLimit(pid: number): number {
  const limits = readFileSync(`/proc/${pid}/limits`, "utf8");
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  if (!match?.[1] || match[1] === "unlimited") return Number.POSITIVE_INFINITY;
  return Number(match[1]);
}

/** The kernel's ephemeral port range, first and last port. */
export function ephemeralPortRange(): { first: number; last: number } {
  const [first, last] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  return { first: first ?? Number.NaN, last: last ?? Number.NaN };
}

export function ephemeralPortCount(): number {
  const { first, last } = ephemeralPortRange();
  return last - first + 1;
}

export interface MachineSample {
  busyTicks: number;
  totalTicks: number;
}

/** Whole-machine CPU, so a reader can tell a starved server from a slow one on a small box. */
export function sampleMachine(): MachineSample {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  // idle and iowait are the only non-busy columns.
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busyTicks: total - idle, totalTicks: total };
}

/** Busy share of all cores between two samples, 0..100. */
export function machineBusyPercent(from: MachineSample, to: MachineSample): number {
  const total = to.totalTicks - from.totalTicks;
  return total > 0 ? (100 * (to.busyTicks - from.busyTicks)) / total : 0;
}
