/**
 * `npm run cluster` — a three-node tributary-ws cluster on this machine, for
 * trying out scale-out: one throwaway redis-server and PostgreSQL, three nodes
 * on 127.0.0.1 sharing them. Prints the URLs, the API key and examples;
 * Ctrl-C or SIGTERM stops the nodes (they drain), then Redis and PostgreSQL.
 *
 *   npm run cluster                         # nodes on 8081, 8082, 8083
 *   npm run cluster -- --base-port 9000     # 9000, 9001, 9002
 *   npm run cluster -- --base-port 0        # free ports (tests)
 *   TRIBUTARY_API_KEYS=my-publisher-key-0123 npm run cluster
 *   LOG_LEVEL=debug npm run cluster         # every node's log; otherwise warnings and errors only
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import bs58 from "bs58";
import { startPostgresServer, type PostgresServer } from "../test/support/postgres-server.js";
import { startRedisServer, type RedisServer } from "../test/support/redis-server.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const NODE_COUNT = 3;
const LISTEN_TIMEOUT_MS = 60_000;
/** A node drains in SHUTDOWN_TIMEOUT_MS (8 s by default); past this it is killed. */
const NODE_STOP_TIMEOUT_MS = 15_000;
/** A second Ctrl-C this long after the first kills the nodes instead of waiting for their drain. */
const FORCE_AFTER_MS = 2000;

const { values } = parseArgs({ options: { "base-port": { type: "string", default: "8081" } } });
const basePort = Number(values["base-port"]);
if (!Number.isInteger(basePort) || basePort < 0 || basePort + NODE_COUNT > 65536) {
  console.error(`--base-port must be 0 (free ports) or a port number, not ${values["base-port"]}`);
  process.exit(2);
}

interface Node {
  name: string;
  child: ChildProcess;
  exited: Promise<unknown>;
  url?: string;
}

const verbose = process.env.LOG_LEVEL === "debug" || process.env.LOG_LEVEL === "trace";
const nodes: Node[] = [];
let redis: RedisServer | undefined;
let postgres: PostgresServer | undefined;
let stopping: Promise<void> | undefined;

function ensureServices(): void {
  // Installs redis-server and PostgreSQL when missing (as root on Debian); quick when present.
  execFileSync("bash", [fileURLToPath(new URL("./ensure-test-services.sh", import.meta.url))], { stdio: "inherit" });
}

function startNode(index: number, env: Record<string, string>): Promise<Node> {
  const name = `node${index + 1}`;
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: "127.0.0.1",
      PORT: String(basePort === 0 ? 0 : basePort + index),
      ...env,
      // The "listening" line (info) tells this script a node's port, so nodes never log less than that.
      LOG_LEVEL: verbose ? process.env.LOG_LEVEL! : "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const node: Node = { name, child, exited: once(child, "exit") };
  // Known from the start, so that a start-up that fails later still stops it.
  nodes.push(node);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not listen within ${LISTEN_TIMEOUT_MS} ms`)), LISTEN_TIMEOUT_MS);
    void node.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it listened`));
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let entry: { msg?: string; port?: number; level?: number } = {};
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        // Not a log line; shown as it is.
      }
      if (entry.msg === "listening" && node.url === undefined) {
        node.url = `http://127.0.0.1:${entry.port}`;
        clearTimeout(timer);
        resolve(node);
      }
      // Warnings and errors are shown; everything with LOG_LEVEL=debug or trace.
      if ((entry.level ?? 50) >= 40 || verbose) console.log(`[${name}] ${line}`);
    });
    createInterface({ input: child.stderr! }).on("line", (line) => console.error(`[${name}] ${line}`));
  });
}

async function stopNode(node: Node): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  node.child.kill("SIGTERM");
  const timer = setTimeout(() => node.child.kill("SIGKILL"), NODE_STOP_TIMEOUT_MS);
  await node.exited;
  clearTimeout(timer);
}

/** Nodes first, so they drain while Redis and PostgreSQL are still there; then the servers. */
function stopAll(reason: string): Promise<void> {
  stopping ??= (async () => {
    console.log(`\ncluster: ${reason}; stopping the nodes, then Redis and PostgreSQL`);
    await Promise.all(nodes.map(stopNode));
    await Promise.allSettled([redis?.close(), postgres?.close()]);
    console.log("cluster: stopped");
  })();
  return stopping;
}

let firstSignalAt = 0;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping !== undefined) {
      // Ctrl-C reaches this process from the terminal and again from npm
      // forwarding it, within moments: only a later one means "don't wait".
      if (Date.now() - firstSignalAt < FORCE_AFTER_MS) return;
      for (const node of nodes) node.child.kill("SIGKILL");
      process.exit(1);
    }
    firstSignalAt = Date.now();
    void stopAll(`${signal} received`).then(() => process.exit(0));
  });
}

async function main(): Promise<void> {
  ensureServices();
  const options = { callerHandlesSignals: true };
  [redis, postgres] = await Promise.all([startRedisServer(options), startPostgresServer(options)]);
  const apiKey = process.env.TRIBUTARY_API_KEYS?.split(",")[0]?.trim() || `dev-${randomBytes(9).toString("hex")}`;
  const env = { DATABASE_URL: postgres.url, REDIS_URL: redis.url, TRIBUTARY_API_KEYS: process.env.TRIBUTARY_API_KEYS || apiKey };
  // One at a time: each node migrates the schema on start (safe together, but the log reads better).
  for (let i = 0; i < NODE_COUNT; i++) {
    await startNode(i, env);
    if (stopping !== undefined) return;
  }
  const first = nodes[0]!.url!;
  const second = nodes[1]!.url!;
  console.log(
    [
      "",
      "tributary-ws cluster is running (Ctrl-C stops it)",
      "",
      ...nodes.map((node) => `  ${node.name}: ${node.url}  (pid ${node.child.pid})`),
      `  redis:    ${redis.url}  (pid ${redis.pid})`,
      `  postgres: ${postgres.url}`,
      `  API key:  ${apiKey}`,
      "",
      "Watch on one node:",
      `  TRIBUTARY_URL=${second} npx tsx examples/complete-example.ts`,
      "Publish on another:",
      `  curl -s ${first}/v1/payments -H 'Authorization: Bearer ${apiKey}' -H 'Content-Type: application/json' \\`,
      `    -d '{"trackingId":"my-subscription-id","amount":"1000000","timestamp":${Math.floor(Date.now() / 1000)},"signature":"${bs58.encode(randomBytes(64))}"}'`,
      "Each node's health, with the cluster link's state:",
      `  curl -s ${first}/v1/health`,
      "",
    ].join("\n"),
  );
  // A node that dies by itself takes the cluster down with it, so the failure is seen.
  for (const node of nodes) {
    void node.exited.then(() => {
      if (stopping === undefined) void stopAll(`${node.name} exited`).then(() => process.exit(1));
    });
  }
}

main().catch(async (error: unknown) => {
  console.error(`cluster: ${error instanceof Error ? error.message : String(error)}`);
  await stopAll("start-up failed");
  process.exit(1);
});
