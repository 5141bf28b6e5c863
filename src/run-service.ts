import { createApp } from "./app.js";
import type { Config } from "./config.js";

/**
 * Runs the service until a signal: SIGTERM and SIGINT drain (clients are
 * told and reconnect elsewhere) and exit 0; a broken store exits 1 so a
 * supervisor restarts the node. Shared by `npm start` and `tributary-ws serve`.
 */
export async function runService(config: Config): Promise<void> {
  let exitCode = 0;
  const app = await createApp(config, {
    onFatalStoreError: () => {
      exitCode = 1;
      void shutdown("store failure");
    },
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

  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
  await app.listen();
}
