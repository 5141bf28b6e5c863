import type { Logger } from "../logger.js";
import type { PaymentStore, RetentionPolicy } from "./payment-store.js";

export interface RetentionSettings {
  /** 0 keeps payments forever. */
  maxAgeSeconds: number;
  /** 0 keeps every payment. */
  maxPerTrackingId: number;
  intervalMs: number;
}

export interface RetentionJob {
  /** Applies the policy now; resolves with how many payments were deleted. A call while a run is on joins that run. */
  runOnce(): Promise<number>;
  stop(): void;
}

/**
 * Applies retention on a timer. With no bound set it does nothing at all:
 * the default keeps every payment, so every replay can be served.
 */
export function startRetentionJob(store: PaymentStore, settings: RetentionSettings, logger: Logger): RetentionJob {
  const enabled = settings.maxAgeSeconds > 0 || settings.maxPerTrackingId > 0;
  const policy = (): RetentionPolicy => ({
    receivedBefore: settings.maxAgeSeconds > 0 ? Date.now() - settings.maxAgeSeconds * 1000 : undefined,
    keepPerTrackingId: settings.maxPerTrackingId > 0 ? settings.maxPerTrackingId : undefined,
  });
  const run = async (): Promise<number> => {
    const deleted = await store.prune(policy());
    if (deleted > 0) logger.info({ deleted }, "retention deleted old payments");
    return deleted;
  };
  // A large prune can outlast the interval (it runs in steps between the payments); runs must not pile up behind it.
  let running: Promise<number> | undefined;
  const runOnce = (): Promise<number> => {
    if (!enabled) return Promise.resolve(0);
    running ??= run().finally(() => (running = undefined));
    return running;
  };
  const timer = enabled
    ? setInterval(() => {
        runOnce().catch((error: unknown) => logger.warn({ err: error }, "retention run failed; will retry"));
      }, settings.intervalMs).unref()
    : undefined;
  return { runOnce, stop: () => clearInterval(timer) };
}
