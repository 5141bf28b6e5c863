/**
 * Starts a server under test as a child process, waits until it is healthy,
 * and stops it. Each scenario gets a fresh process and a fresh database so
 * memory and storage figures do not carry over between scenarios.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Cleanup } from "./cleanup.js";
import { diskDeviceOf } from "./disk-stats.js";
import { pinnedCommand } from "./cpu-pinning.js";
import { sampleProcessTree, type ProcSample } from "./proc-stats.js";

export interface TargetSpec {
  name: "service" | "baseline";
  /** argv; when argv[0] is node the inspector flag goes right after it. */
  command: string[];
  cwd: string;
  /** Processes serving clients: above 1, the service runs that many workers (WORKERS) behind its primary. */
  workers: number;
  /** taskset core list the server's whole process tree runs on; undefined: not pinned. */
  cores?: string;
}

const HEALTH_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const OUTPUT_TAIL_LINES = 40;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether `count` ports from `first` on can be listened on (and none is `taken`). */
async function portsFree(first: number, count: number, taken: number): Promise<boolean> {
  for (let port = first; port < first + count; port++) {
    if (port === taken || port > 65535) return false;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}

function isNode(executable: string): boolean {
  return executable === "node" || executable === process.execPath || executable.endsWith("/node");
}

export class ServerProcess {
  private readonly outputTail: string[] = [];
  private exited = false;
  private child: ChildProcess;
  private readonly unregister: () => void;
  /** The block device under the data directory, for per-step disk figures; undefined where /proc/diskstats has none. */
  readonly diskDevice: string | undefined;

  private constructor(
    readonly spec: TargetSpec,
    private readonly launch: () => ChildProcess,
    readonly port: number,
    readonly inspectPort: number,
    private readonly dataDir: string,
    cleanup: Cleanup,
  ) {
    this.diskDevice = diskDeviceOf(dataDir);
    this.child = this.spawnChild();
    this.unregister = cleanup.add(() => {
      if (!this.exited) this.child.kill("SIGKILL");
      rmSync(this.dataDir, { recursive: true, force: true });
    });
  }

  private spawnChild(): ChildProcess {
    const child = this.launch();
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString().split("\n")) {
        if (line.trim().length === 0) continue;
        this.outputTail.push(line);
        if (this.outputTail.length > OUTPUT_TAIL_LINES) this.outputTail.shift();
      }
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exited = false;
    child.on("exit", () => {
      if (this.child === child) this.exited = true;
    });
    return child;
  }

  /**
   * A crash and a restart: SIGKILL (nothing flushed, no goodbye to clients),
   * then the same command on the same port with the same data directory, as
   * a supervisor would. Resolves with the hrtime (ns) of the kill and when the
   * new process answered its health check.
   */
  async crashAndRestart(): Promise<{ killedNs: bigint; healthyNs: bigint }> {
    const old = this.child;
    const gone = new Promise<void>((resolve) => {
      if (old.exitCode !== null || old.signalCode !== null) resolve();
      else old.once("exit", () => resolve());
    });
    const killedNs = process.hrtime.bigint();
    old.kill("SIGKILL");
    await gone;
    this.child = this.spawnChild();
    await this.waitHealthy();
    return { killedNs, healthyNs: process.hrtime.bigint() };
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error("server has no pid");
    return this.child.pid;
  }

  /** CPU and RSS of the server with its worker processes, if any. */
  sample(): ProcSample {
    return sampleProcessTree(this.pid);
  }

  /**
   * Inspector ports of the processes that hold clients: the server itself, or
   * its workers, to which Node's cluster gives the primary's port plus 1, 2, …
   */
  get heapInspectPorts(): number[] {
    if (this.spec.workers <= 1) return [this.inspectPort];
    return Array.from({ length: this.spec.workers }, (_, index) => this.inspectPort + 1 + index);
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsBaseUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get output(): string {
    return this.outputTail.join("\n");
  }

  static async start(spec: TargetSpec, apiKey: string, cleanup: Cleanup): Promise<ServerProcess> {
    const port = await freePort();
    // Node's cluster gives worker i the primary's inspector port plus i, so
    // with workers the ports above it must be free too, or a worker fails to
    // start. Both ports are free when asked for, so the kernel may hand out
    // the same one twice.
    let inspectPort = await freePort();
    while (inspectPort === port || !(await portsFree(inspectPort + 1, spec.workers > 1 ? spec.workers : 0, port))) {
      inspectPort = await freePort();
    }
    const dataDir = mkdtempSync(join(tmpdir(), `tributary-bench-${spec.name}-`));
    const inspectFlag = `--inspect=127.0.0.1:${inspectPort}`;
    const [executable, ...args] = spec.command;
    if (!executable) throw new Error(`empty command for ${spec.name}`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: `sqlite:${join(dataDir, "bench.sqlite")}`,
      TRIBUTARY_API_KEYS: apiKey,
      LOG_LEVEL: "warn",
      NODE_ENV: "production",
      // Every load client comes from 127.0.0.1: the per-address abuse limits would measure themselves, not the service.
      MAX_CONNECTIONS_PER_IP: "0",
      MAX_HTTP_CONNECTIONS_PER_IP: "0",
      MAX_SUBSCRIPTIONS_PER_IP: "0",
      MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND: "0",
      SOCKET_EVENTS_PER_SECOND: "0",
      PUBLISH_RATE_PER_SECOND: "0",
      // The webhook scenario's receiver listens on loopback.
      WEBHOOK_ALLOWED_HOSTS: "127.0.0.1",
      WORKERS: String(spec.workers),
    };
    let argv = args;
    if (isNode(executable)) argv = [inspectFlag, ...args];
    else env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ""} ${inspectFlag}`.trim();
    // taskset execs the command, so the child's pid is the server's own and its workers inherit the cores.
    const [program, ...programArgs] = pinnedCommand(spec.cores, [isNode(executable) ? process.execPath : executable, ...argv]);
    if (!program) throw new Error(`empty command for ${spec.name}`);

    const launch = (): ChildProcess => spawn(program, programArgs, { cwd: spec.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const server = new ServerProcess(spec, launch, port, inspectPort, dataDir, cleanup);
    await server.waitHealthy();
    return server;
  }

  private async waitHealthy(): Promise<void> {
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`${this.spec.name} exited during startup:\n${this.output}`);
      try {
        const response = await fetch(`${this.baseUrl}/v1/health`, { signal: AbortSignal.timeout(1000) });
        if (response.status === 200) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.stop();
    throw new Error(`${this.spec.name} not healthy within ${HEALTH_TIMEOUT_MS} ms:\n${this.output}`);
  }

  async stop(): Promise<void> {
    if (!this.exited) {
      const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dataDir, { recursive: true, force: true });
    this.unregister();
  }
}
