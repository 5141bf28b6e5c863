import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { packageRoot } from "../../src/package-root.js";
import { paymentBody, randomSignature } from "../support/payments.js";
import { TEST_API_KEY, startTestServer, type TestServer } from "../support/test-server.js";
import { waitUntil } from "../support/wait.js";

/** The built bin, run as npm would link it: by its shebang, not through node or tsx. */
const BIN = join(packageRoot(), "dist", "src", "cli", "main.js");

interface Running {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
  /** Resolves once a line of stdout or stderr matches. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

function startCli(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(BIN, args, { env: { ...process.env, TRIBUTARY_URL: "", TRIBUTARY_API_KEY: "", ...env } });
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => stdout.push(line));
  createInterface({ input: child.stderr! }).on("line", (line) => stderr.push(line));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return {
    child,
    stdout,
    stderr,
    exited,
    async line(pattern, timeoutMs = 10_000) {
      const find = () => [...stdout, ...stderr].find((line) => pattern.test(line));
      await waitUntil(() => find() !== undefined, `the CLI prints ${pattern}`, timeoutMs);
      return find()!;
    },
  };
}

/** Runs to completion, after the output streams have closed, so every line is in. */
async function runCli(args: string[], env: Record<string, string> = {}) {
  const running = startCli(args, env);
  const [code] = await Promise.all([running.exited, once(running.child.stdout!, "close"), once(running.child.stderr!, "close")]);
  return { code, stdout: running.stdout.join("\n"), stderr: running.stderr.join("\n") };
}

let server: TestServer;
before(async () => {
  accessSync(BIN, constants.X_OK);
  server = await startTestServer();
});
after(() => server.close());

let counter = 0;
const uniqueId = (label: string) => `cli-${label}-${++counter}-${process.pid}`;

describe("tributary-ws CLI", () => {
  test("the bin is an executable script with a node shebang", () => {
    assert.match(readFileSync(BIN, "utf8"), /^#!\/usr\/bin\/env node\n/);
  });

  test("--help on the program and on every command", async () => {
    const main = await runCli(["--help"]);
    assert.equal(main.code, 0);
    for (const name of ["serve", "watch", "publish", "bench"]) assert.match(main.stdout, new RegExp(`^  ${name} `, "m"));
    const expected: Record<string, RegExp> = {
      serve: /--database-url <value>.*\[DATABASE_URL\]/s,
      watch: /<trackingId\.\.\.>.*--json.*--since <offset>/s,
      publish: /--tracking-id <id>.*--signature <base58>.*--timestamp <seconds>/s,
      bench: /tributary-ws bench -- --quick/,
    };
    for (const [name, pattern] of Object.entries(expected)) {
      const help = await runCli([name, "--help"]);
      assert.equal(help.code, 0, name);
      assert.match(help.stdout, new RegExp(`^Usage: tributary-ws ${name}`, "m"));
      assert.match(help.stdout, pattern);
    }
  });

  test("publish, then watch --json sees it live", async () => {
    const trackingId = uniqueId("live");
    const watch = startCli(["watch", trackingId, "--json", "--count", "1", "--url", server.url]);
    await watch.line(new RegExp(`^Ack: Subscribed to trackingId: ${trackingId}$`));
    const signature = randomSignature();
    const published = await runCli([
      "publish",
      "--tracking-id",
      trackingId,
      "--amount",
      "18446744073709551615",
      "--signature",
      signature,
      "--timestamp",
      "1700000000",
      "--key",
      TEST_API_KEY,
      "--url",
      server.url,
    ]);
    assert.equal(published.code, 0, published.stderr);
    assert.equal(published.stdout, `Published ${signature}:0 as offset 1 of ${trackingId}`);
    assert.equal(await watch.exited, 0);
    // stdout carries payments only, so it can be piped into another program.
    assert.equal(watch.stdout.length, 1);
    const payment = JSON.parse(watch.stdout[0]!);
    assert.equal(payment.signature, signature);
    assert.equal(payment.amountRaw, "18446744073709551615");
    assert.equal(payment.timestamp, 1700000000);
    assert.equal(payment.offset, 1);
  });

  test("watch --since replays stored payments in order, printed as the spec's complete example prints them", async () => {
    const trackingId = uniqueId("since");
    const bodies = [1, 2, 3].map((n) => paymentBody({ trackingId, amount: String(n * 1000), timestamp: 1_699_876_543 }));
    assert.equal((await server.publish(bodies)).status, 200);
    const watch = await runCli(["watch", trackingId, "--since", "1", "--count", "2", "--url", server.url]);
    assert.equal(watch.code, 0, watch.stderr);
    const lines = watch.stdout.split("\n");
    assert.equal(lines[0], "Connected to Tributary WebSocket");
    assert.equal(lines[1], `Ack: Subscribed to trackingId: ${trackingId}`);
    assert.match(lines[2]!, /^Payment received: \{.*offset: 2/);
    assert.deepEqual(lines.slice(3, 7), [
      `Payment of 2000 for ${trackingId}`,
      "Status: executed",
      `Transaction: ${bodies[1]!.signature}`,
      "Time: 2023-11-13T11:55:43.000Z",
    ]);
    assert.equal(lines[8], `Payment of 3000 for ${trackingId}`);
    assert.equal(lines.filter((line) => line.startsWith("Payment of")).length, 2);
  });

  test("publish --json prints the server's answer, and a duplicate says so", async () => {
    const trackingId = uniqueId("json");
    const args = ["publish", "--tracking-id", trackingId, "--amount", "5", "--signature", randomSignature(), "--timestamp", "1700000000", "--url", server.url];
    const first = await runCli([...args, "--json"], { TRIBUTARY_API_KEY: TEST_API_KEY });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).offset, 1);
    const again = await runCli(args, { TRIBUTARY_API_KEY: TEST_API_KEY });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^Already stored .* as offset 1 of /);
  });

  test("bad flags and refused requests exit non-zero with a message", async () => {
    const cases: Array<{ args: string[]; code: number; message: RegExp }> = [
      { args: ["publish", "--amount", "1"], code: 1, message: /required option '--tracking-id <id>' not specified/ },
      { args: ["publish", "--tracking-id", "t", "--amount", "1.5"], code: 1, message: /--amount <units>.*whole number/ },
      { args: ["publish", "--tracking-id", "t", "--amount", "1", "--status", "done"], code: 1, message: /Allowed choices are executed, failed, pending/ },
      { args: ["publish", "--tracking-id", "t", "--amount", "1", "--url", server.url], code: 1, message: /API key is required/ },
      { args: ["publish", "--tracking-id", "t", "--amount", "1", "--key", "wrong", "--url", server.url], code: 1, message: /HTTP 401 UNAUTHORIZED/ },
      { args: ["publish", "--tracking-id", "t", "--amount", "1", "--key", "k", "--url", "ftp://x"], code: 1, message: /--url.*http or https/ },
      { args: ["watch", "t", "--since", "-1"], code: 1, message: /--since <offset>.*whole number/ },
      { args: ["watch"], code: 1, message: /missing required argument 'trackingId'/ },
      { args: ["watch", "x".repeat(65), "--url", server.url], code: 1, message: /refused a subscription: INVALID_TRACKING_ID/ },
      { args: ["serve", "--port", "99999"], code: 2, message: /--port \(PORT: .*\)/ },
      { args: ["serve", "--log-level", "loud"], code: 2, message: /--log-level \(LOG_LEVEL: / },
      { args: ["serve", "--workers", "0"], code: 2, message: /--workers \(WORKERS: / },
      { args: ["serve", "--workers", "2", "--database-url", "sqlite::memory:"], code: 2, message: /WORKERS: needs a store the workers share/ },
      { args: ["launch"], code: 1, message: /unknown command 'launch'/ },
    ];
    const results = await Promise.all(cases.map(({ args }) => runCli(args)));
    for (const [index, { args, code, message }] of cases.entries()) {
      const result = results[index]!;
      assert.equal(result.code, code, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(" "));
    }
  });

  test("serve runs the service with flags in place of the environment, and drains on SIGTERM", async (t) => {
    // A file, not :memory:, so the built SQLite writer thread runs too.
    const dataDir = mkdtempSync(join(tmpdir(), "tributary-cli-serve-"));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const database = `sqlite:${join(dataDir, "serve.sqlite")}`;
    const serve = startCli(["serve", "--port", "0", "--host", "127.0.0.1", "--database-url", database, "--api-keys", "serve-key-0123456789"]);
    // A failed assertion must not leave the service running and the test process waiting on it.
    t.after(() => serve.child.kill("SIGKILL"));
    const listening = JSON.parse(await serve.line(/"msg":"listening"/, 20_000));
    assert.equal(listening.host, "127.0.0.1");
    const url = `http://127.0.0.1:${listening.port}`;
    assert.equal((await fetch(`${url}/v1/health`)).status, 200);
    const trackingId = uniqueId("serve");
    const published = await runCli(["publish", "--tracking-id", trackingId, "--amount", "7", "--key", "serve-key-0123456789", "--url", url]);
    assert.equal(published.code, 0, published.stderr);
    const history = await fetch(`${url}/v1/payments?trackingId=${trackingId}`);
    const body = (await history.json()) as { payments: Array<{ offset: number; amountRaw: string }> };
    assert.deepEqual(body.payments.map((p) => [p.offset, p.amountRaw]), [[1, "7"]]);
    serve.child.kill("SIGTERM");
    assert.equal(await serve.exited, 0);
  });
});
