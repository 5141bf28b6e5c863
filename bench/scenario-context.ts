/** What every scenario needs to drive one target, and the server lifecycle around it. */
import type { BenchOptions } from "./bench-options.js";
import type { Cleanup } from "./cleanup.js";
import { ServerProcess, type TargetSpec } from "./server-process.js";
import type { WorkerPool } from "./worker-pool.js";

export const SOCKET_PATH = "/ws/v1";

export interface ScenarioContext {
  target: TargetSpec;
  pool: WorkerPool;
  cleanup: Cleanup;
  apiKey: string;
  options: BenchOptions;
  /** Unique per run so tracking IDs never collide with a previous run's. */
  runTag: string;
  progress: (line: string) => void;
  /** Told the pid of every server started, so the report can show the cores the kernel let it use. */
  onServerStarted?: (pid: number) => void;
}

/** A fresh server per scenario, stopped (and its clients dropped) whatever happens. */
export async function withServer<T>(ctx: ScenarioContext, body: (server: ServerProcess) => Promise<T>): Promise<T> {
  const server = await ServerProcess.start(ctx.target, ctx.apiKey, ctx.cleanup);
  ctx.onServerStarted?.(server.pid);
  try {
    return await body(server);
  } finally {
    await ctx.pool.disconnectAll().catch(() => undefined);
    await server.stop();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
