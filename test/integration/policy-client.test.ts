import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createPaymentClient, type PaymentClient } from "../../src/client/index.js";
import { ChainPolicy } from "../support/chain-policy.js";
import { SolanaRpcStandIn } from "../support/solana-rpc-stand-in.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { nextClientEvent } from "../support/payment-client.js";
import { waitUntil } from "../support/wait.js";

let node: SolanaRpcStandIn;
const dataDir = mkdtempSync(join(tmpdir(), "tributary-policy-client-"));
before(async () => {
  node = await SolanaRpcStandIn.start();
});
after(async () => {
  await node.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(port = "0"): Promise<TestServer> {
  const app = await startTestServer({ SOLANA_RPC_URL: node.httpUrl, SOLANA_WS_URL: node.wsUrl, PORT: port }, {}, dataDir);
  await waitUntil(async () => (await app.get("/v1/health")).body.sources.solana.state === "live", "the watcher is live", 15_000);
  return app;
}

test("onPolicy: lifecycle changes once each, in order with the payments, across a server restart", { timeout: 60_000 }, async () => {
  let app = await start();
  const port = new URL(app.url).port;
  let client: PaymentClient | undefined;
  try {
    client = createPaymentClient({
      url: app.url,
      transports: ["websocket"],
      socketOptions: { reconnectionDelay: 50, reconnectionDelayMax: 200 },
    });
    const seen: string[] = [];
    const ready = nextClientEvent(client, "subscribed", (info) => info.trackingId === "client-sub", 10_000);
    client.subscribe(
      "client-sub",
      // Whether the missed ones come by replay or live depends on how far the restarted watcher's backfill got first.
      (payment) => seen.push(`payment ${payment.offset}`),
      { onPolicy: (change) => seen.push(`${change.status} p${change.offset}`) },
    );
    await ready;
    const policy = new ChainPolicy(node, "client-sub");
    policy.create();
    policy.pay(1n);
    policy.setStatus("paused");
    await waitUntil(() => seen.length === 3, "three live events");
    assert.equal(client.lastOffset("client-sub"), 1);
    assert.equal(client.lastPolicyOffset("client-sub"), 2);

    // The service stops under the client, which keeps trying to reconnect.
    await app.app.close();
    policy.setStatus("active");
    policy.pay(2n);
    const resubscribed = nextClientEvent(client, "subscribed", (info) => info.trackingId === "client-sub", 20_000);
    app = await start(port);
    assert.equal((await resubscribed).since, 1);
    await waitUntil(() => seen.length === 5, "the two missed events", 10_000);
    policy.delete();
    await waitUntil(() => seen.length === 6, "the live deletion", 10_000);
    assert.deepEqual(seen, [
      "created p1",
      "payment 1",
      "paused p2",
      "active p3",
      "payment 2",
      "deleted p4",
    ]);
  } finally {
    client?.close();
    await app.close({ keepData: true });
  }
});
