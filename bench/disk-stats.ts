/**
 * The disk under the server's data directory, from /proc/diskstats: how busy
 * it was and how long its writes waited in a window. On a shared machine the
 * disk is noisy in a way CPU figures do not show: in a step where the device
 * was busy most of the time, every group commit's fdatasync waited in its
 * queue, and latency says more about the disk than about the server.
 */
import { readFileSync, statSync } from "node:fs";

export interface DiskSample {
  writes: number;
  writeMs: number;
  /** Milliseconds the device had I/O in flight (io_ticks). */
  busyMs: number;
  atMs: number;
}

export interface DiskActivity {
  busyPercent: number;
  writeAwaitMs: number;
}

/** "major:minor" of the block device holding `path`; undefined when it is not a block device /proc/diskstats lists (tmpfs, overlay). */
export function diskDeviceOf(path: string): string | undefined {
  // Linux's dev_t: 12 bits of major above 8 bits of minor in the low word (the high bits are zero for these devices).
  const dev = statSync(path).dev;
  const device = `${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00)}`;
  return sampleDisk(device) === undefined ? undefined : device;
}

export function sampleDisk(device: string): DiskSample | undefined {
  let diskstats: string;
  try {
    diskstats = readFileSync("/proc/diskstats", "utf8");
  } catch {
    return undefined;
  }
  for (const line of diskstats.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (`${fields[0]}:${fields[1]}` !== device) continue;
    // After major, minor and name: reads (4 fields), then writes completed, merged, sectors, ms writing, in flight, io_ticks.
    const at = (index: number) => Number(fields[index + 3]);
    return { writes: at(4), writeMs: at(7), busyMs: at(9), atMs: performance.now() };
  }
  return undefined;
}

export function diskActivity(from: DiskSample, to: DiskSample): DiskActivity {
  const wall = to.atMs - from.atMs;
  const writes = to.writes - from.writes;
  return {
    busyPercent: wall > 0 ? (100 * (to.busyMs - from.busyMs)) / wall : 0,
    writeAwaitMs: writes > 0 ? (to.writeMs - from.writeMs) / writes : 0,
  };
}
