import cluster from "node:cluster";
import type { Config } from "./config.js";
import { createLogger } from "./logger.js";
import { runPrimary, WORKER_INDEX_VARIABLE } from "./workers/run-primary.js";
import { PrimaryChannel } from "./workers/primary-channel.js";

/**
 * Runs the service until a signal: SIGTERM and SIGINT drain (clients are
 * told and reconnect elsewhere) and exit 0; a broken store exits 1 so a
 * supervisor restarts the node. Shared by `npm start` and `tributary-ws serve`.
 * With WORKERS above 1 this process becomes the primary, and each worker it
 * forks comes back here and runs the service behind it.
 */
export async function runService(config: Config): Promise<void> {
  if (config.WORKERS > 1 && cluster.isPrimary) return runPrimary(config);
  // Loaded here, not at the top: the primary never runs the app, and loading it (~0.6 s) delayed every worker's fork.
  const { createApp } = await import("./app.js");
  const worker = cluster.isWorker ? { index: Number(process.env[WORKER_INDEX_VARIABLE]), primary: new PrimaryChannel(process) } : undefined;

  let exitCode = 0;
  const app = await createApp(config, {
    onFatalStoreError: () => {
      exitCode = 1;
      void shutdown("store failure");
    },
    ...(worker === undefined ? {} : { logger: createLogger(config.LOG_LEVEL).child({ worker: worker.index }), worker }),
  });

  let stopping = false;
  async function shutdown(reason: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    // Never outlive the drain window, whatever is stuck.
    setTimeout(() => {
      app.logger.error("shutdown took too long; exiting anyway");
      process.exit(exitCode);
    }, config.SHUTDOWN_TIMEOUT_MS + 1000).unref();
    await app.close(reason === "store failure" ? "has a broken payment store" : "is shutting down");
    process.exit(exitCode);
  }

  if (worker === undefined) {
    // Once: a second Ctrl-C ends the process without waiting for the drain.
    process.once("SIGTERM", () => void shutdown("SIGTERM"));
    process.once("SIGINT", () => void shutdown("SIGINT"));
    await app.listen();
    return;
  }
  // A worker is often signalled twice, by a process-group signal (Ctrl-C,
  // systemd) and again by the primary passing it on; the drain must survive that.
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  // The primary is gone (killed, crashed): nobody routes clients here any more.
  process.once("disconnect", () => void shutdown("primary gone"));
  await app.serveFromPrimary();
  worker.primary.send({ type: "tributary:worker-ready" });
}
