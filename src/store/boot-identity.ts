import { readFileSync } from "node:fs";
import { uptime } from "node:os";

/** Where the machine tells which boot it is in; a parameter so tests can stand in for another system. */
export interface BootClock {
  /** Linux's id of this boot; read as a file, absent on other systems. */
  readonly bootIdFile: string;
  readonly nowMs: () => number;
  readonly uptimeSeconds: () => number;
}

export const systemBootClock: BootClock = {
  bootIdFile: "/proc/sys/kernel/random/boot_id",
  nowMs: () => Date.now(),
  uptimeSeconds: uptime,
};

const BOOTED_AT = "booted-at:";

/**
 * Two readings of one boot's start, taken apart, differ by the clocks'
 * rounding and slew; two boots start further apart than this, since the
 * first ran and the machine restarted in between. A clock stepped by more
 * makes this boot look like another, which only costs a rebuild.
 */
const BOOTED_AT_TOLERANCE_S = 5;

/**
 * Names this boot of the machine, for telling whether a file that was never
 * synced survived since it was last written: Linux's boot id, or where there
 * is none (macOS, Windows) the second the machine booted, from the clock and
 * the uptime.
 */
export function currentBoot(clock: BootClock = systemBootClock): string {
  try {
    const bootId = readFileSync(clock.bootIdFile, "utf8").trim();
    if (bootId !== "") return bootId;
  } catch {
    // No such file: this is not Linux, or /proc is not mounted.
  }
  return `${BOOTED_AT}${Math.round(clock.nowMs() / 1000 - clock.uptimeSeconds())}`;
}

/** Whether a boot recorded earlier by {@link currentBoot} is the current one. */
export function sameBoot(recorded: string, current: string): boolean {
  if (recorded.startsWith(BOOTED_AT) && current.startsWith(BOOTED_AT)) {
    const seconds = (boot: string) => Number(boot.slice(BOOTED_AT.length));
    return Math.abs(seconds(recorded) - seconds(current)) <= BOOTED_AT_TOLERANCE_S;
  }
  return recorded !== "" && recorded === current;
}
