import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { packageRoot } from "../../src/package-root.js";
import { freePort } from "../support/free-port.js";
import { paymentBody } from "../support/payments.js";
import { waitUntil } from "../support/wait.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../support/test-server.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";

/** The built bin, run by its shebang as npm would link it. */
const BIN = join(packageRoot(), "dist", "src", "cli", "main.js");
const exec = promisify(execFile);

let server: TestServer;
let receiver: WebhookReceiver;
before(async () => {
  server = await startTestServer({ WEBHOOK_ALLOWED_HOSTS: "127.0.0.1", WEBHOOK_POLL_INTERVAL_MS: "20" });
  receiver = await startWebhookReceiver();
});
after(async () => {
  await receiver.close();
  await server.close();
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(BIN, ["webhooks", ...args, "--url", server.url], {
      env: { ...process.env, TRIBUTARY_API_KEY: TEST_API_KEY, TRIBUTARY_URL: "" },
    });
    return { code: 0, stdout: stdout.trim(), stderr: stderr.trim() };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout.trim(), stderr: failed.stderr.trim() };
  }
}

test("webhooks create, test, list, deliveries and replay from the CLI", async () => {
  const created = await cli("create", receiver.url, "--tracking-id", "cli-1", "cli-2", "--json");
  assert.equal(created.code, 0, created.stderr);
  const endpoint = JSON.parse(created.stdout);
  assert.match(endpoint.secret, /^whsec_/);
  assert.deepEqual(endpoint.filter, { trackingIds: ["cli-1", "cli-2"] });
  const paymentsOnly = await cli("create", receiver.url, "--tracking-id-prefix", "cli-p-", "--types", "payment", "--json");
  assert.equal(paymentsOnly.code, 0, paymentsOnly.stderr);
  assert.deepEqual(JSON.parse(paymentsOnly.stdout).filter, { trackingIdPrefix: "cli-p-", types: ["payment"] });

  const tested = await cli("test", endpoint.id);
  assert.match(tested.stdout, /^Queued test message msg_/);
  await receiver.until(1);

  await server.publish(paymentBody({ trackingId: "cli-2" }));
  await receiver.until(2);

  const listed = await cli("list");
  assert.match(listed.stdout, new RegExp(`^${endpoint.id}  enabled .*${receiver.url.replaceAll("/", "\\/")}`, "m"));

  const deliveries = await cli("deliveries", endpoint.id, "--limit", "5");
  assert.equal(deliveries.stdout.split("\n").length, 2);
  assert.match(deliveries.stdout, / #1 {2}200 /);

  const replayed = await cli("replay", endpoint.id, "--since", "cli-2=0");
  assert.equal(replayed.stdout, "Queued 1 message(s) again");
  const [, second, third] = await receiver.until(3);
  assert.equal(third!.headers["webhook-id"], second!.headers["webhook-id"]);

  const refused = await cli("create", "https://10.0.0.1/hook", "--all");
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^error: HTTP 400 WEBHOOK_URL_REFUSED: /);
  const unfiltered = await cli("create", receiver.url);
  assert.equal(unfiltered.code, 1);
  assert.match(unfiltered.stderr, /exactly one of --all/);
});

test("examples/webhook-receiver.ts verifies what the service sends and rejects a forged request", async () => {
  const port = await freePort();
  const created = await fetch(`${server.url}/v1/webhooks`, {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ url: `http://127.0.0.1:${port}/hook`, filter: { trackingIds: ["example-1"] } }),
  });
  const { secret } = (await created.json()) as { secret: string };
  const child = spawn(process.execPath, ["--import", "tsx", join(packageRoot(), "examples", "webhook-receiver.ts")], {
    env: { ...process.env, WEBHOOK_SECRET: secret, PORT: String(port) },
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => lines.push(line));
  try {
    await waitUntil(() => lines.includes("listening"), "the example listens", 10_000);
    const published = await server.publish(paymentBody({ trackingId: "example-1", amount: "18446744073709551615" }));
    assert.equal(published.status, 200);
    await waitUntil(() => lines.some((line) => line.startsWith("verified msg_")), "the example verifies the webhook", 10_000);
    assert.match(lines.find((line) => line.startsWith("verified"))!, /^verified msg_\S+ payment\.executed example-1#1 18446744073709551615$/);
    const forged = await fetch(`http://127.0.0.1:${port}/hook`, {
      method: "POST",
      headers: { "webhook-id": "msg_forged", "webhook-timestamp": String(Math.floor(Date.now() / 1000)), "webhook-signature": "v1,AAAA" },
      body: "{}",
    });
    assert.equal(forged.status, 400);
    await waitUntil(() => lines.some((line) => line.startsWith("rejected")), "the example rejects the forged request");
  } finally {
    child.kill();
    await once(child, "exit");
  }
});
