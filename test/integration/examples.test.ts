import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { packageRoot } from "../../src/package-root.js";
import { paymentBody } from "../support/payments.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { waitUntil } from "../support/wait.js";

/** The spec's examples run as a reader would run them: `npx tsx examples/<name>.ts`, against TRIBUTARY_URL. */
function runExample(name: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", join(packageRoot(), "examples", `${name}.ts`)], {
    env: { ...process.env, ...env },
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => stdout.push(line));
  createInterface({ input: child.stderr }).on("line", (line) => stderr.push(line));
  const done = Promise.all([once(child, "exit"), once(child.stdout, "close"), once(child.stderr, "close")]).then(
    ([[code]]) => code as number | null,
  );
  return {
    stdout,
    stderr,
    done,
    printed: (line: string) => waitUntil(() => stdout.includes(line), `the example prints "${line}"`, 10_000),
  };
}

/** Asserts that `expected` lines appear in `lines` in this order (other lines may sit between them). */
function assertInOrder(lines: string[], expected: string[]): void {
  let from = 0;
  for (const line of expected) {
    const at = lines.indexOf(line, from);
    assert.notEqual(at, -1, `missing, or out of order: ${JSON.stringify(line)}\n--- output ---\n${lines.join("\n")}`);
    from = at + 1;
  }
}

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

describe("the spec's examples against a real server", () => {
  test("Basic Connection connects and disconnects", async () => {
    const example = runExample("basic-connection", { TRIBUTARY_URL: server.url, STOP_AFTER_CONNECT: "1" });
    assert.equal(await example.done, 0, example.stderr.join("\n"));
    assert.deepEqual(example.stdout, ["Connected to WebSocket", "Disconnected from WebSocket"]);
  });

  test("Complete Example prints each payment as the spec shows", async () => {
    const example = runExample("complete-example", { TRIBUTARY_URL: server.url, STOP_AFTER_PAYMENTS: "2" });
    await example.printed("Ack: Subscribed to trackingId: my-subscription-id");
    const first = paymentBody({ trackingId: "my-subscription-id", amount: "1000000", timestamp: 1_699_876_543 });
    const second = paymentBody({ trackingId: "my-subscription-id", amount: "2500", timestamp: 1_700_000_000, status: "failed" });
    assert.equal((await server.publish([first, second])).status, 200);
    assert.equal(await example.done, 0, example.stderr.join("\n"));

    assertInOrder(example.stdout, [
      "Connected to Tributary WebSocket",
      "Ack: Subscribed to trackingId: my-subscription-id",
      "Payment of 1000000 for my-subscription-id",
      "Status: executed",
      `Transaction: ${first.signature}`,
      "Time: 2023-11-13T11:55:43.000Z",
      "Payment of 2500 for my-subscription-id",
      "Status: failed",
      `Transaction: ${second.signature}`,
      "Time: 2023-11-14T22:13:20.000Z",
      "Disconnected from Tributary WebSocket",
    ]);
    // console.log of message.data: the payload the spec documents, with its field names.
    const received = example.stdout.filter((line) => line.startsWith("Payment received:"));
    assert.equal(received.length, 2);
    assert.match(example.stdout.join("\n"), /Payment received: \{\s+trackingId: 'my-subscription-id',\s+amount: 1000000,/);
    assert.deepEqual(example.stderr, []);
  });
});
