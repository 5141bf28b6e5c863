/**
 * How long the built service takes from spawn to its first 200 on /v1/health,
 * as `npm start` runs it. Usage: `npm run measure:start -- [--workers N] [--runs N]`.
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

const MAIN = fileURLToPath(new URL("../dist/src/main.js", import.meta.url));

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

/** Milliseconds from spawn to the first 200 on /v1/health. */
export async function measureStart(workers: number): Promise<number> {
  const directory = mkdtempSync(join(tmpdir(), "tributary-start-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const startedAt = performance.now();
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      HOST: "127.0.0.1",
      PORT: String(port),
      WORKERS: String(workers),
      LOG_LEVEL: "warn",
      DATABASE_URL: `sqlite:${join(directory, "start.sqlite")}`,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = once(child, "exit");
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode} before it was healthy`);
      if (await healthy(url)) return performance.now() - startedAt;
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
  for (let run = 0; run < Number(values.runs); run++) figures.push(await measureStart(workers));
  console.log(`WORKERS=${workers}: spawn to first 200 on /v1/health: ${figures.map((ms) => `${Math.round(ms)} ms`).join(", ")}`);
}
