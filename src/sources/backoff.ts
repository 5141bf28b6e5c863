/** Capped exponential backoff with jitter, and a sleep that a stop can cut short. */
import { setTimeout as delay } from "node:timers/promises";

export interface BackoffOptions {
  /**
   * Delay before the first retry, in ms.
   * @default 250
   */
  baseDelayMs: number;
  /**
   * Upper bound of any single delay, in ms.
   * @default 10000
   */
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseDelayMs: 250, maxDelayMs: 10_000 };

/**
 * Delay before retry number `attempt` (0-based). Half of it is random, so
 * many clients rejected at once (a 429 storm) do not come back in lockstep,
 * and half is fixed, so a retry never fires immediately.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  await delay(ms, undefined, signal ? { signal } : undefined);
}

export function validateBackoff(options: BackoffOptions, name: string): void {
  if (!Number.isFinite(options.baseDelayMs) || options.baseDelayMs < 0) {
    throw new TypeError(`Expected \`${name}.baseDelayMs\` to be a number from 0 and up, got \`${options.baseDelayMs}\``);
  }
  if (!Number.isFinite(options.maxDelayMs) || options.maxDelayMs < options.baseDelayMs) {
    throw new TypeError(
      `Expected \`${name}.maxDelayMs\` to be a number not below baseDelayMs, got \`${options.maxDelayMs}\``,
    );
  }
}
