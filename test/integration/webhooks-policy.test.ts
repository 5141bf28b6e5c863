import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { ChainPolicy } from "../support/chain-policy.js";
import { startPostgresServer, type PostgresServer } from "../support/postgres-server.js";
import { SolanaRpcStandIn } from "../support/solana-rpc-stand-in.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../support/test-server.js";
import { waitUntil } from "../support/wait.js";
import { startWebhookReceiver, type ReceivedWebhook } from "../support/webhook-receiver.js";

let node: SolanaRpcStandIn;
let postgres: PostgresServer;
const dirs: string[] = [];
before(async () => {
  node = await SolanaRpcStandIn.start();
  postgres = await startPostgresServer();
});
after(async () => {
  await node.close();
  await postgres?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function post(server: TestServer, path: string, body: unknown) {
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

async function get(server: TestServer, path: string) {
  const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
  return (await response.json()) as any;
}

/** Checks the signature with the standardwebhooks package and returns the body it vouches for, in a comparable form. */
function verified(verifier: Webhook, webhook: ReceivedWebhook): string {
  const body = verifier.verify(webhook.body, {
    "webhook-id": webhook.headers["webhook-id"]!,
    "webhook-timestamp": webhook.headers["webhook-timestamp"]!,
    "webhook-signature": webhook.headers["webhook-signature"]!,
  }) as { type: string; data: any };
  const { data } = body;
  return body.type.startsWith("payment.")
    ? `${data.trackingId} ${body.type} #${data.offset} ${data.amountRaw}`
    : `${data.trackingId} ${body.type} ${data.previousStatus ?? "-"}>${data.status} p${data.policyOffset} after #${data.afterOffset}`;
}

describe("webhooks for policy lifecycle events", () => {
  for (const database of ["sqlite", "postgres"] as const) {
    test(`${database}: policy.<status> from the chain arrives signed, in order with the tracking ID's payments, once per webhook-id, across a restart and on replay`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "tributary-webhook-policy-"));
      dirs.push(dataDir);
      const databaseEnv: Record<string, string> = database === "postgres" ? { DATABASE_URL: await postgres.createDatabase("webhook_policy") } : {};
      // Tracking IDs of their own per run: the stand-in chain is shared, and a restart backfills from it.
      const prefix = `wh-${database}-`;
      const start = () =>
        startTestServer(
          {
            SOLANA_RPC_URL: node.httpUrl,
            SOLANA_WS_URL: node.wsUrl,
            WEBHOOK_ALLOWED_HOSTS: "127.0.0.1",
            WEBHOOK_RETRY_SCHEDULE_MS: "50,50,50",
            // No polling within the test's time: what arrives was woken by storing it (or by the start).
            WEBHOOK_POLL_INTERVAL_MS: "60000",
            ...databaseEnv,
          },
          {},
          dataDir,
        );
      const receiver = await startWebhookReceiver();
      const paymentsReceiver = await startWebhookReceiver();
      let app = await start();
      try {
        await waitUntil(async () => (await app.get("/v1/health")).body.sources?.solana?.state === "live", "the watcher is live", 15_000);
        const endpoint = await post(app, "/v1/webhooks", { url: receiver.url, filter: { trackingIdPrefix: prefix } });
        assert.equal(endpoint.status, 201);
        const verifier = new Webhook(endpoint.body.secret);
        const paymentsOnly = await post(app, "/v1/webhooks", { url: paymentsReceiver.url, filter: { trackingIdPrefix: prefix, types: ["payment"] } });
        assert.equal(paymentsOnly.status, 201);
        assert.deepEqual(paymentsOnly.body.filter, { trackingIdPrefix: prefix, types: ["payment"] });
        const refused = await post(app, "/v1/webhooks", { url: paymentsReceiver.url, filter: { all: true, types: ["refund"] } });
        assert.deepEqual([refused.status, refused.body.error.code], [400, "INVALID_BODY"]);

        const sub = new ChainPolicy(node, `${prefix}sub`, 1);
        const other = new ChainPolicy(node, "zz-other", 1);
        sub.create();
        sub.pay(5n);
        sub.setStatus("paused");
        other.create();
        other.setStatus("paused");
        sub.setStatus("active");
        sub.pay(6n);
        await receiver.until(5);
        // Delivered and idle; only storing the next policy event can wake delivery before the next poll.
        await waitUntil(async () => (await get(app, `/v1/webhooks/${endpoint.body.id}`)).state.backlog === 0, "the backlog is empty");
        sub.setStatus("paused");
        await receiver.until(6);
        assert.deepEqual(receiver.received.map((w) => verified(verifier, w)), [
          `${prefix}sub policy.created ->created p1 after #0`,
          `${prefix}sub payment.executed #1 5`,
          `${prefix}sub policy.paused active>paused p2 after #1`,
          `${prefix}sub policy.active paused>active p3 after #1`,
          `${prefix}sub payment.executed #2 6`,
          `${prefix}sub policy.paused active>paused p4 after #2`,
        ]);
        const paused = JSON.parse(receiver.received[2]!.body);
        assert.equal(paused.data.paymentPolicy, sub.address);
        assert.equal(paused.data.signature, node.transactions.find((t) => t.signature === paused.data.signature)?.signature);
        assert.ok(!Number.isNaN(Date.parse(paused.timestamp)));

        // Down while the subscription is paid once more, runs out and is deleted: the outbox resumes from its cursors.
        await app.close({ keepData: true });
        sub.pay(7n);
        sub.setStatus("completed");
        sub.delete();
        app = await start();
        await receiver.until(9, 20_000);
        assert.deepEqual(receiver.received.slice(6).map((w) => verified(verifier, w)), [
          `${prefix}sub payment.executed #3 7`,
          `${prefix}sub policy.completed paused>completed p5 after #3`,
          `${prefix}sub policy.deleted ->deleted p6 after #3`,
        ]);
        const ids = receiver.received.map((w) => w.headers["webhook-id"]);
        await paymentsReceiver.until(3);
        assert.deepEqual(
          paymentsReceiver.received.map((w) => JSON.parse(w.body).type),
          ["payment.executed", "payment.executed", "payment.executed"],
          "an endpoint for payments only gets no policy event",
        );
        assert.equal(new Set(ids).size, 9, "each event once, each under its own webhook-id");

        // Replay after payment 2: what a socket replay from there gives (the pause after payment 2, payment 3
        // and the policy events after it), in the same order and under the same webhook-ids.
        const replay = await post(app, `/v1/webhooks/${endpoint.body.id}/replay`, { since: { [sub.memo]: 2 } });
        assert.deepEqual([replay.status, replay.body.queued], [202, 4]);
        await receiver.until(13);
        const again = receiver.received.slice(9);
        assert.deepEqual(
          again.map((w) => verified(verifier, w)),
          receiver.received.slice(5, 9).map((w) => verified(verifier, w)),
        );
        assert.deepEqual(
          again.map((w) => w.headers["webhook-id"]),
          ids.slice(5),
        );
      } finally {
        await app.close();
        await receiver.close();
        await paymentsReceiver.close();
      }
    });
  }
});
