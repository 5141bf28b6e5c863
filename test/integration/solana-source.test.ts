import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Socket } from "socket.io-client";
import { randomPubkey } from "../support/payment-record-encoder.js";
import { SolanaRpcStandIn } from "../support/solana-rpc-stand-in.js";
import { emitWithAck, startTestServer, type TestServer } from "../support/test-server.js";
import { executePayment } from "../support/tributary-instructions.js";
import { collect, waitUntil } from "../support/wait.js";

let node: SolanaRpcStandIn;
const dataDir = mkdtempSync(join(tmpdir(), "tributary-solana-app-"));
before(async () => {
  node = await SolanaRpcStandIn.start();
});
after(async () => {
  await node.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function startApp(): Promise<TestServer> {
  return startTestServer({ SOLANA_RPC_URL: node.httpUrl, SOLANA_WS_URL: node.wsUrl }, {}, dataDir);
}

function pay(memo: string, amount: bigint) {
  return node.addTransaction({ instructions: [executePayment([{ memo, amount, payer: randomPubkey(), recipient: randomPubkey(), tokenMint: randomPubkey() }])] });
}

async function live(app: TestServer): Promise<void> {
  await waitUntil(async () => (await app.get("/v1/health")).body.sources.solana.state === "live", "the watcher is live", 10_000);
}

test("the chain watcher feeds the whole pipeline, and a restarted node backfills what it missed: each payment once, in order", async () => {
  const trackingId = "order-42";
  let app = await startApp();
  let socket: Socket | undefined;
  try {
    await live(app);
    socket = await app.connect();
    const payments = collect<any>(socket, "payment");
    await emitWithAck(socket, "subscribe", { trackingId });

    const first = pay(trackingId, 2n ** 63n + 1n);
    pay("another-order", 1n);
    const [message] = await payments.until(1);
    assert.equal(message.data.trackingId, trackingId);
    assert.equal(message.data.amountRaw, (2n ** 63n + 1n).toString());
    assert.equal(message.data.signature, first.signature);
    assert.equal(message.data.offset, 1);
    assert.equal(typeof message.data.payer, "string");

    // The node goes away; the chain does not wait for it.
    socket.disconnect();
    await app.close({ keepData: true });
    const missed = [pay(trackingId, 5n), pay(trackingId, 6n)];

    app = await startApp();
    await live(app);
    socket = await app.connect();
    const replayed = collect<any>(socket, "payment");
    await emitWithAck(socket, "subscribe", { trackingId, since: 1 });
    const after = pay(trackingId, 7n);
    const received = await replayed.until(3, 10_000);
    assert.deepEqual(
      received.map((m) => [m.data.offset, m.data.signature]),
      [
        [2, missed[0]!.signature],
        [3, missed[1]!.signature],
        [4, after.signature],
      ],
    );
    const history = await app.get(`/v1/payments?trackingId=${trackingId}`);
    assert.equal(history.body.payments.length, 4, "stored once each");
  } finally {
    socket?.disconnect();
    await app.close();
  }
});
