import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. Servers that cannot
 * listen on port 0 and report back (redis-server, postgres) are given one.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}

/** For a long-running caller (scripts/cluster.ts) that stops its servers itself, in its own order. */
export interface ServerHelperOptions {
  /**
   * Leave SIGINT and SIGTERM to the caller, which then stops what depends on
   * the server first and closes the server after. The exit-time cleanup stays.
   * @default false
   */
  callerHandlesSignals?: boolean;
}

/**
 * Runs `cleanup` synchronously if the process ends before `dispose` is
 * called, also on SIGINT and SIGTERM (unless the caller handles signals), so
 * no server outlives a test run that was interrupted or forgot to close it.
 */
export function onProcessExit(cleanup: () => void, options: ServerHelperOptions = {}): { dispose(): void } {
  const signals = options.callerHandlesSignals !== true;
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    cleanup();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    run();
    dispose();
    // Handling the signal cancelled its default action: die of it as intended.
    process.kill(process.pid, signal);
  };
  const dispose = () => {
    process.off("exit", run);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  process.on("exit", run);
  if (signals) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  return {
    dispose() {
      done = true;
      dispose();
    },
  };
}
