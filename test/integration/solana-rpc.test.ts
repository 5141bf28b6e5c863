import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { after, before, describe, it } from "node:test";
import { LogsSubscription, type LogsNotification } from "../../src/sources/solana/logs-subscription.js";
import { deriveWebSocketUrl } from "../../src/sources/solana/rpc-urls.js";
import { RpcError, SolanaRpc, parseRetryAfter, type RetryInfo } from "../../src/sources/solana/solana-rpc.js";
import { SolanaRpcStandIn } from "../support/solana-rpc-stand-in.js";
import { PROGRAM_ID, executePayment } from "../support/tributary-instructions.js";
import { nextEvent } from "../support/wait.js";

const fast = { baseDelayMs: 1, maxDelayMs: 5 };

describe("SolanaRpc against the stand-in", () => {
  let node: SolanaRpcStandIn;
  before(async () => {
    node = await SolanaRpcStandIn.start();
  });
  after(async () => {
    await node.close();
  });

  it("pages getSignaturesForAddress newest first with before/until/limit", async () => {
    const rpc = new SolanaRpc({ url: node.httpUrl, backoff: fast });
    const txs = Array.from({ length: 5 }, () => node.addTransaction({ instructions: [executePayment([{ amount: 1n, memo: "a" }])] }));
    const sigs = txs.map((tx) => tx.signature);
    const first = await rpc.getSignaturesForAddress(PROGRAM_ID, { limit: 2, commitment: "confirmed" });
    assert.deepEqual(first.map((s) => s.signature), [sigs[4], sigs[3]]);
    const next = await rpc.getSignaturesForAddress(PROGRAM_ID, {
      limit: 10,
      before: sigs[3],
      until: sigs[0],
      commitment: "confirmed",
    });
    assert.deepEqual(next.map((s) => s.signature), [sigs[2], sigs[1]]);
    const tx = await rpc.getTransaction(sigs[2] ?? "", "confirmed");
    assert.equal(tx?.slot, txs[2]?.slot);
    assert.deepEqual(tx?.meta?.logMessages, txs[2]?.logs);
    assert.equal(await rpc.getTransaction("1111", "confirmed"), null);
    assert.equal(await rpc.getSlot("finalized"), node.slot);
  });

  it("retries 429 (honouring Retry-After) and 5xx, then succeeds", async () => {
    const retries: RetryInfo[] = [];
    const rpc = new SolanaRpc({ url: node.httpUrl, backoff: fast, onRetry: (info) => retries.push(info) });
    node.failNextRequests(2, { status: 429, retryAfter: "0" });
    node.failNextRequests(1, { status: 503 });
    assert.equal(await rpc.getSlot("confirmed"), node.slot);
    assert.deepEqual(
      retries.map((r) => [r.attempt, r.delayMs === 0]),
      [
        [1, true],
        [2, true],
        [3, false],
      ],
    );
  });

  it("gives up after maxAttempts with a retryable RpcError", async () => {
    const rpc = new SolanaRpc({ url: node.httpUrl, backoff: fast, maxAttempts: 3 });
    node.failNextRequests(5, { status: 500 });
    await assert.rejects(rpc.getSlot("confirmed"), (error: unknown) => error instanceof RpcError && error.retryable && error.code === 500);
    assert.equal(node.pendingFaults, 2);
    while (node.pendingFaults > 0) await rpc.getSlot("confirmed").catch(() => undefined);
  });

  it("does not retry a JSON-RPC error that will not pass", async () => {
    const rpc = new SolanaRpc({ url: node.httpUrl, backoff: fast });
    const before = node.calls.get("getSignaturesForAddress") ?? 0;
    await assert.rejects(
      rpc.getSignaturesForAddress(PROGRAM_ID, { limit: 5000, commitment: "confirmed" }),
      (error: unknown) => error instanceof RpcError && error.code === -32602 && !error.retryable,
    );
    assert.equal(node.calls.get("getSignaturesForAddress"), before + 1);
  });

  it("retries a request that times out", async () => {
    let requests = 0;
    const slow = createServer((_req, res) => {
      requests++;
      if (requests === 1) return; // never answers: the client's timeout must fire
      res.writeHead(200, { "content-type": "application/json" }).end('{"jsonrpc":"2.0","result":77,"id":1}');
    });
    await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", resolve));
    try {
      const rpc = new SolanaRpc({ url: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`, timeoutMs: 100, backoff: fast });
      assert.equal(await rpc.getSlot("confirmed"), 77);
      assert.equal(requests, 2);
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });

  it("subscribes to logs and receives notifications for the program only", async () => {
    const subscription = await LogsSubscription.open({ url: node.wsUrl, address: PROGRAM_ID, commitment: "finalized" });
    try {
      const received = nextEvent<LogsNotification>(subscription, "notification");
      node.addTransaction({ instructions: [{ programId: "Vote111111111111111111111111111111111111111" }] });
      const tx = node.addTransaction({ instructions: [executePayment([{ amount: 5n, memo: "m" }])] });
      const notification = await received;
      assert.deepEqual(notification, { slot: tx.slot, signature: tx.signature, err: null, logs: tx.logs });
    } finally {
      subscription.close();
    }
  });

  it("gives up on a pub/sub handshake that never completes, without crashing", async () => {
    const silent = createServer();
    const held: Duplex[] = [];
    // Takes the upgrade request and never answers it.
    silent.on("upgrade", (_req, socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const url = `ws://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      await assert.rejects(
        LogsSubscription.open({ url, address: PROGRAM_ID, commitment: "confirmed", connectTimeoutMs: 100 }),
        /no reply within 100 ms|timed out|closed/,
      );
      // The handshake abort is reported on a later tick; give it one to crash on.
      await new Promise<void>((resolve) => setImmediate(resolve));
      await new Promise<void>((resolve) => setImmediate(resolve));
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("parses Retry-After and derives pub/sub URLs", () => {
    assert.equal(parseRetryAfter("3"), 3000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6000);
    assert.equal(parseRetryAfter("soon"), undefined);
    assert.equal(deriveWebSocketUrl("http://127.0.0.1:8899"), "ws://127.0.0.1:8900/");
    assert.equal(deriveWebSocketUrl("https://rpc.example.com/key"), "wss://rpc.example.com/key");
  });
});
