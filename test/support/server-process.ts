import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { waitUntil } from "./wait.js";

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Every JSON log line the process wrote so far. */
  logs: any[];
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
}

/** Runs the real entry point in its own process, as `npm start` does, and waits until it listens. */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
    // Tests read the metrics right after what they count; the cache has tests of its own.
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", METRICS_CACHE_MS: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: any[] = [];
  const stderr: string[] = [];
  child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      logs.push(JSON.parse(line));
    } catch {
      logs.push({ msg: line });
    }
  });
  const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string);
  let failed = false;
  void exited.then(() => (failed = true));
  try {
    await waitUntil(
      () => failed || logs.some((log) => log.msg === "listening"),
      "the server process listens",
      20_000,
    );
  } catch (error) {
    // A process left running would keep the test file from ever exiting: its caller never got it to kill.
    child.kill("SIGKILL");
    throw error;
  }
  if (failed) throw new Error(`server process exited before listening:\n${stderr.join("")}`);
  const port = logs.find((log) => log.msg === "listening").port as number;
  return { child, url: `http://127.0.0.1:${port}`, logs, exited };
}
