import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { paymentBody } from "../support/payments.js";
import { startPostgresServer, type PostgresServer } from "../support/postgres-server.js";
import { startServerProcess } from "../support/server-process.js";
import { startTestServer, TEST_API_KEY } from "../support/test-server.js";
import { waitUntil } from "../support/wait.js";
import { startWebhookReceiver, type ReceivedWebhook } from "../support/webhook-receiver.js";

const auth = { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" };
const dataOf = (webhook: ReceivedWebhook) => JSON.parse(webhook.body).data as { trackingId: string; offset: number; id: string };

async function post(url: string, body: unknown) {
  const response = await fetch(url, { method: "POST", headers: auth, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as any };
}

describe("webhook durability", () => {
  test("SIGKILL mid-delivery, then a restart: the message in flight is sent again under its webhook-id, then the rest, in order", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "tributary-webhook-kill-"));
    // The first request is left hanging: the service is killed while it waits for the answer.
    const receiver = await startWebhookReceiver((request) => (request.index === 1 ? "hang" : { status: 200 }));
    const env = {
      DATABASE_URL: `sqlite:${join(dataDir, "tributary.sqlite")}`,
      TRIBUTARY_API_KEYS: TEST_API_KEY,
      WEBHOOK_ALLOWED_HOSTS: "127.0.0.1",
      WEBHOOK_POLL_INTERVAL_MS: "20",
      WEBHOOK_TIMEOUT_MS: "1000",
      WEBHOOK_CONNECT_TIMEOUT_MS: "1000",
      WEBHOOK_RETRY_SCHEDULE_MS: "50,50,50",
    };
    let server = await startServerProcess(env);
    try {
      const created = await post(`${server.url}/v1/webhooks`, { url: receiver.url, filter: { trackingIds: ["kill-1"] } });
      assert.equal(created.status, 201);
      for (let i = 0; i < 3; i++) assert.equal((await post(`${server.url}/v1/payments`, paymentBody({ trackingId: "kill-1" }))).status, 200);
      await receiver.until(1);
      server.child.kill("SIGKILL");
      assert.equal(await server.exited, "SIGKILL");
      server = await startServerProcess(env);
      // The lease of the killed process expires (connect + response timeout + 1 s), then this one takes the message over.
      const received = await receiver.until(4, 15_000);
      const ids = received.map((w) => w.headers["webhook-id"]);
      assert.equal(ids[1], ids[0], "the message in flight came again under the same webhook-id");
      assert.deepEqual(received.map((w) => dataOf(w).offset), [1, 1, 2, 3]);
      assert.equal(new Set(ids).size, 3);
    } finally {
      server.child.kill("SIGKILL");
      await server.exited;
      await receiver.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("webhooks on PostgreSQL", () => {
  let postgres: PostgresServer;
  before(async () => {
    postgres = await startPostgresServer();
  });
  after(() => postgres?.close());

  test("two nodes share the outbox: every payment delivered once, per tracking ID in offset order", async () => {
    const url = await postgres.createDatabase("two_nodes");
    const env = {
      DATABASE_URL: url,
      WEBHOOK_ALLOWED_HOSTS: "127.0.0.1",
      WEBHOOK_POLL_INTERVAL_MS: "20",
      WEBHOOK_RETRY_SCHEDULE_MS: "50,50,50",
    };
    const nodes = [await startTestServer(env), await startTestServer(env)];
    const receiver = await startWebhookReceiver();
    try {
      const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
      const created = await post(`${a.url}/v1/webhooks`, { url: receiver.url, filter: { trackingIdPrefix: "pg-" } });
      assert.equal(created.status, 201);
      const count = 80;
      const published = await Promise.all(
        Array.from({ length: count }, (_, i) => (i % 2 === 0 ? a : b).publish(paymentBody({ trackingId: `pg-${i % 8}` }))),
      );
      assert.ok(published.every((p) => p.status === 200));
      await receiver.until(count, 20_000);
      // Anything extra would arrive on the nodes' next rounds; wait until both have nothing pending.
      const client = new pg.Client(url);
      await client.connect();
      try {
        await waitUntil(
          async () => (await client.query("SELECT count(*) AS n FROM webhook_deliveries WHERE state <> 'delivered'")).rows[0].n === "0",
          "every message is delivered",
        );
        const { rows } = await client.query("SELECT node, count(*) AS n FROM webhook_attempts GROUP BY node ORDER BY node");
        console.log(`attempts per node: ${rows.map((row) => row.n).join(" + ")} for ${count} messages`);
      } finally {
        await client.end();
      }
      assert.equal(receiver.received.length, count, "no message delivered twice");
      assert.equal(new Set(receiver.received.map((w) => w.headers["webhook-id"])).size, count);
      for (let t = 0; t < 8; t++) {
        const offsets = receiver.received.map(dataOf).filter((d) => d.trackingId === `pg-${t}`).map((d) => d.offset);
        assert.deepEqual(offsets, Array.from({ length: count / 8 }, (_, i) => i + 1), `pg-${t} in offset order`);
      }
    } finally {
      await receiver.close();
      for (const node of nodes) await node.close();
    }
  });
});
