import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, test } from "node:test";
import { measureStart } from "../../scripts/measure-start.js";

const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> };

test("npm start runs the build that npm ci made (prepare), without rebuilding", () => {
  assert.equal(manifest.scripts.start, "sh scripts/start.sh");
  assert.equal(manifest.scripts.prestart, undefined, "no build before every start");
  assert.equal(manifest.scripts.prepare, "npm run build", "npm ci builds once");
});

test("the built service answers its first health check soon after spawn (the figure is printed)", async () => {
  const milliseconds = await measureStart({ workers: 1 });
  console.log(`spawn to first 200 on /v1/health, one process: ${Math.round(milliseconds)} ms`);
  // Generous: the target is 2 s on an idle machine; this only catches a start that waits on something.
  assert.ok(milliseconds < 20_000, `healthy after ${Math.round(milliseconds)} ms`);
});

const cgroups = mkdtempSync(join(tmpdir(), "tributary-cpu-max-"));
after(() => rmSync(cgroups, { recursive: true, force: true }));

/** A cgroup v2 tree whose `cpu.max` holds this, for the start script to read instead of the real one. */
function cpuMax(content: string): Record<string, string> {
  const root = mkdtempSync(join(cgroups, "v2-"));
  writeFileSync(join(root, "cpu.max"), `${content}\n`);
  return { TRIBUTARY_CGROUP_ROOT: root };
}

/** A cgroup v1 tree with this CPU quota and period (microseconds; a quota of -1 is none). */
function cfsQuota(quota: number, period: number): Record<string, string> {
  const root = mkdtempSync(join(cgroups, "v1-"));
  mkdirSync(join(root, "cpu"));
  writeFileSync(join(root, "cpu", "cpu.cfs_quota_us"), `${quota}\n`);
  writeFileSync(join(root, "cpu", "cpu.cfs_period_us"), `${period}\n`);
  return { TRIBUTARY_CGROUP_ROOT: root };
}

/** The node arguments the start script ran the service with (it execs, so the spawned process is node itself). */
async function startedArguments(options: { cores?: string; env: Record<string, string> }): Promise<string[]> {
  let argv: string[] = [];
  await measureStart({
    workers: 1,
    ...options,
    whileHealthy: (pid) => (argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a) => a.length > 0)),
  });
  assert.equal(basename(argv[0] ?? ""), "node", `the started process is node: ${argv.join(" ")}`);
  assert.ok(argv.at(-1)?.endsWith("dist/src/main.js"), argv.join(" "));
  return argv;
}

test("on a node limited to one core by its affinity, npm start's script collects garbage on one thread", async () => {
  const argv = await startedArguments({ cores: "0", env: cpuMax("max 100000") });
  assert.ok(argv.includes("--single-threaded-gc"), argv.join(" "));
});

test("on a node limited to one core by its cgroup, npm start's script collects garbage on one thread", async () => {
  for (const env of [cpuMax("100000 100000"), cfsQuota(50_000, 100_000)]) {
    const argv = await startedArguments({ env });
    assert.ok(argv.includes("--single-threaded-gc"), `${JSON.stringify(env)}: ${argv.join(" ")}`);
  }
});

test(
  "with more than one core, npm start's script leaves V8's parallel garbage collector on",
  { skip: availableParallelism() < 2 ? "this machine has one core" : false },
  async () => {
    for (const env of [cpuMax("max 100000"), cpuMax("150000 100000"), cfsQuota(-1, 100_000), cfsQuota(150_000, 100_000)]) {
      const argv = await startedArguments({ env });
      assert.ok(!argv.includes("--single-threaded-gc"), `${JSON.stringify(env)}: ${argv.join(" ")}`);
    }
  },
);
