import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, onProcessExit, type ServerHelperOptions } from "./free-port.js";

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** The running server's process id, for pausing it with SIGSTOP; undefined while stopped. */
  readonly pid: number | undefined;
  /** SIGTERM and wait for the exit: an outage. The port stays reserved for {@link start}. */
  stop(): Promise<void>;
  /** Starts again on the same port after {@link stop}, with an empty dataset. */
  start(): Promise<void>;
  /** Stops the server for good and removes its directory. */
  close(): Promise<void>;
}

/** How long a start may take before the test fails instead of hanging. */
const READY_TIMEOUT_MS = 10_000;

/**
 * A throwaway redis-server on a free 127.0.0.1 port, a child of this process,
 * with persistence off so it writes nothing but its directory.
 */
export async function startRedisServer(options: ServerHelperOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "tributary-redis-"));
  let child: ChildProcess | undefined;
  const guard = onProcessExit(() => {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }, options);

  const start = async () => {
    if (child) throw new Error("redis-server is already running");
    const output: string[] = [];
    const started = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
      // A caller that handles signals keeps the server out of the terminal's
      // process group, so Ctrl-C reaches the caller only and it stops the server last.
      { stdio: ["ignore", "pipe", "pipe"], detached: options.callerHandlesSignals === true },
    );
    child = started;
    started.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    started.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    let exited = false;
    const spawnError = new Promise<never>((_, reject) => {
      started.once("error", reject);
      started.once("exit", () => {
        exited = true;
        reject(new Error(`redis-server exited before it was ready:\n${output.join("")}`));
      });
    });
    spawnError.catch(() => undefined);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while ((await pingRedis(port).catch(() => "")) !== "PONG") {
      if (exited) await spawnError;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const stop = async () => {
    const running = child;
    if (!running) return;
    if (running.exitCode === null && running.signalCode === null) {
      const exit = once(running, "exit");
      running.kill("SIGTERM");
      const timer = setTimeout(() => running.kill("SIGKILL"), READY_TIMEOUT_MS);
      await exit;
      clearTimeout(timer);
    }
    child = undefined;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    stop,
    start,
    async close() {
      await stop();
      guard.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Sends PING in Redis's inline form and resolves with the reply's text
 * (`PONG`), or rejects when nothing answers within a second. Enough of the
 * protocol to prove a server is up without a client library.
 */
export function pingRedis(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(1000, () => fail(new Error(`no PING reply from 127.0.0.1:${port}`)));
    socket.once("error", fail);
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString();
      const end = reply.indexOf("\r\n");
      if (end === -1) return;
      socket.destroy();
      // "+PONG" is a status reply, "-LOADING …" an error one: keep the text either way.
      resolve(reply.slice(1, end));
    });
  });
}
