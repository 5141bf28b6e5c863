import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { io } from "socket.io-client";
import { paymentBody } from "../support/payments.js";
import { collect, nextEvent, waitUntil } from "../support/wait.js";

const SCRIPT = fileURLToPath(new URL("../../scripts/cluster.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Every process below `root`, found by walking /proc's parent links. */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // Gone while we looked.
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [pid, ppid] of parents) {
      if (ppid === parent && !found.includes(pid)) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

/** Alive and not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

test("npm run cluster: three nodes on Redis and PostgreSQL, a payment crosses nodes, SIGTERM stops everything", { timeout: 180_000 }, async () => {
  const child = spawn(process.execPath, ["--import", "tsx", SCRIPT, "--base-port", "0"], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", TRIBUTARY_API_KEYS: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string);
  const output: string[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => output.push(line));
  child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  let ended = false;
  void exited.then(() => (ended = true));
  const tracked: number[] = [];
  try {
    await waitUntil(() => ended || output.some((line) => line.includes("API key:")), "the cluster script is ready", 120_000);
    assert.ok(!ended, `the cluster script exited early:\n${output.join("\n")}`);
    const text = output.join("\n");
    const urls = [...text.matchAll(/node\d: (http:\/\/127\.0\.0\.1:\d+)\s+\(pid (\d+)\)/g)];
    assert.equal(urls.length, 3, text);
    const apiKey = /API key:\s+(\S+)/.exec(text)?.[1];
    assert.ok(apiKey, text);
    const redisPid = Number(/redis:.*\(pid (\d+)\)/.exec(text)?.[1]);
    const postgresPort = Number(/postgres:\s+postgres:\/\/[^@]+@127\.0\.0\.1:(\d+)\//.exec(text)?.[1]);
    assert.ok(redisPid > 0 && postgresPort > 0, text);
    tracked.push(...urls.map((match) => Number(match[2])), redisPid, ...descendants(child.pid!));
    const [first, second] = urls.map((match) => match[1]!);

    for (const [url] of urls.map((match) => [match[1]!])) {
      await waitUntil(
        async () => {
          const response = await fetch(`${url}/v1/health`);
          const body = (await response.json()) as { status: string; cluster: { state: string } };
          return response.status === 200 && body.cluster.state === "connected";
        },
        `${url} is healthy and in the cluster`,
        20_000,
      );
    }

    const socket = io(second!, { path: "/ws/v1", transports: ["websocket"], reconnection: false });
    try {
      const payments = collect<any>(socket, "payment");
      await nextEvent(socket, "connect");
      await socket.timeout(5000).emitWithAck("subscribe", { trackingId: "cluster-script" });
      const body = paymentBody({ trackingId: "cluster-script" });
      const published = await fetch(`${first}/v1/payments`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
        body: JSON.stringify(body),
      });
      assert.equal(published.status, 200);
      const [payment] = await payments.until(1, 10_000);
      assert.equal(payment.data.signature, body.signature);
      assert.equal(payment.data.offset, 1);
    } finally {
      socket.close();
    }

    child.kill("SIGTERM");
    assert.equal(await exited, 0, output.join("\n"));
    assert.match(output.join("\n"), /cluster: stopped/);
    await waitUntil(() => tracked.every((pid) => !running(pid)), "every process the script started has ended", 10_000);
    assert.equal(await accepts(postgresPort), false, "PostgreSQL is stopped");
  } finally {
    if (!ended) {
      // SIGTERM first: only the script itself can stop the PostgreSQL it started.
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
      if (!ended) child.kill("SIGKILL");
    }
    for (const pid of tracked.filter(running)) process.kill(pid, "SIGKILL");
  }
});
