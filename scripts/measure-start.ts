/**
 * How long the built service takes from spawn to its first 200 on /v1/health,
 * started by the script `npm start` runs. Usage: `npm run measure:start -- [--workers N] [--runs N]`.
 * Each run gets a fresh SQLite file; the figures are printed, nothing is asserted.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const START = fileURLToPath(new URL("./start.sh", import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/v1/health`);
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

export interface StartOptions {
  workers: number;
  /** Cores to start it on (`taskset -c`), as a node limited to them. */
  cores?: string;
  /** Added to the environment. */
  env?: Record<string, string>;
  /** Runs while the service is healthy, before it is stopped; given the started process's id. */
  whileHealthy?: (pid: number) => void;
}

/** Milliseconds from spawn to the first 200 on /v1/health. */
export async function measureStart(options: StartOptions): Promise<number> {
  const directory = mkdtempSync(join(tmpdir(), "tributary-start-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const command = options.cores === undefined ? ["sh", START] : ["taskset", "-c", options.cores, "sh", START];
  const startedAt = performance.now();
  const child = spawn(command[0]!, command.slice(1), {
    env: {
      ...process.env,
      HOST: "127.0.0.1",
      PORT: String(port),
      WORKERS: String(options.workers),
      LOG_LEVEL: "warn",
      DATABASE_URL: `sqlite:${join(directory, "start.sqlite")}`,
      ...options.env,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = once(child, "exit");
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode} before it was healthy`);
      if (await healthy(url)) {
        const milliseconds = performance.now() - startedAt;
        options.whileHealthy?.(child.pid!);
        return milliseconds;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    child.kill("SIGTERM");
    await exited;
    rmSync(directory, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { workers: { type: "string", default: "1" }, runs: { type: "string", default: "3" } } });
  const workers = Number(values.workers);
  const figures: number[] = [];
  for (let run = 0; run < Number(values.runs); run++) figures.push(await measureStart({ workers }));
  console.log(`WORKERS=${workers}: spawn to first 200 on /v1/health: ${figures.map((ms) => `${Math.round(ms)} ms`).join(", ")}`);
}
