import { execFile, execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, onProcessExit, type ServerHelperOptions } from "./free-port.js";

const run = promisify(execFile);

/** The role the tests connect as; trust authentication, so no password. */
const USER = "tributary";
const DEFAULT_DATABASE = "tributary";
/** pg_ctl's own bound on start and stop, in seconds. */
const PG_CTL_TIMEOUT_S = "30";

export interface PostgresServer {
  readonly port: number;
  /** `postgres://tributary@127.0.0.1:<port>/tributary` */
  readonly url: string;
  /** Creates an empty database and resolves with its URL, for tests that need isolation. */
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown (open connections are cut): an outage. Data and port stay for {@link start}. */
  stop(): Promise<void>;
  /** Starts again on the same port and data after {@link stop}. */
  start(): Promise<void>;
  /** Stops the server for good and removes its cluster. */
  close(): Promise<void>;
}

/** Debian installs PostgreSQL's server binaries off PATH, one directory per major version. */
function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((version) => existsSync(join(root, version, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); run scripts/ensure-test-services.sh");
  }
  return join(root, newest, "bin");
}

/**
 * A throwaway PostgreSQL cluster on a free 127.0.0.1 port, in a temp dir.
 * The server refuses to run as root, so as root (CI) the cluster belongs to
 * the `postgres` user and its commands run through runuser.
 */
export async function startPostgresServer(options: ServerHelperOptions = {}): Promise<PostgresServer> {
  const bin = binDir();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "tributary-pg-"));
  const data = join(dir, "data");
  const log = join(dir, "postgres.log");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  const owner = (command: string, args: string[]): [string, string[]] =>
    asRoot ? ["runuser", ["-u", "postgres", "--", join(bin, command), ...args]] : [join(bin, command), args];
  const pgCtl = (...args: string[]) => owner("pg_ctl", ["-D", data, "-t", PG_CTL_TIMEOUT_S, ...args]);

  const guard = onProcessExit(() => {
    // Synchronous on purpose: this runs from the process's exit handler.
    try {
      const [command, args] = pgCtl("-m", "immediate", "-w", "stop");
      execFileSync(command, args, { cwd: dir, stdio: "ignore" });
    } catch {
      // Not running: nothing to stop.
    }
    rmSync(dir, { recursive: true, force: true });
  }, options);

  const withLog = async (what: string, [command, args]: [string, string[]]) => {
    try {
      await run(command, args, { cwd: dir });
    } catch (error) {
      const tail = existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-20).join("\n") : "";
      throw new Error(`${what} failed: ${error instanceof Error ? error.message : String(error)}\n${tail}`, {
        cause: error,
      });
    }
  };

  const start = () =>
    withLog(
      "pg_ctl start",
      pgCtl("-l", log, "-o", `-p ${port} -k ${dir} -h 127.0.0.1 -c fsync=off`, "-w", "start"),
    );
  const stop = () => withLog("pg_ctl stop", pgCtl("-m", "fast", "-w", "stop"));
  const createDatabase = async (name: string) => {
    await withLog(`createdb ${name}`, [join(bin, "createdb"), ["-h", "127.0.0.1", "-p", String(port), "-U", USER, name]]);
    return `postgres://${USER}@127.0.0.1:${port}/${name}`;
  };

  try {
    await withLog(
      "initdb",
      owner("initdb", ["-D", data, "-U", USER, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]),
    );
    await start();
    await createDatabase(DEFAULT_DATABASE);
  } catch (error) {
    guard.dispose();
    await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    port,
    url: `postgres://${USER}@127.0.0.1:${port}/${DEFAULT_DATABASE}`,
    createDatabase,
    stop,
    start,
    async close() {
      await stop().catch(() => undefined);
      guard.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
