import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { io, type Socket } from "socket.io-client";
import { ChainPolicy } from "../support/chain-policy.js";
import { encodePolicyDeleted, encodePolicyStatusChanged } from "../support/policy-event-encoder.js";
import { randomPubkey } from "../support/payment-record-encoder.js";
import { startServerProcess } from "../support/server-process.js";
import { SolanaRpcStandIn } from "../support/solana-rpc-stand-in.js";
import { emitWithAck, startTestServer, TEST_API_KEY, type TestServer } from "../support/test-server.js";
import { PROGRAM_ID, changePaymentPolicyStatus } from "../support/tributary-instructions.js";
import { nextEvent, waitUntil } from "../support/wait.js";

const ROUTER = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4";

let node: SolanaRpcStandIn;
const dirs: string[] = [];
before(async () => {
  node = await SolanaRpcStandIn.start();
});
after(async () => {
  await node.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tributary-policy-"));
  dirs.push(dir);
  return dir;
}

async function live(get: (path: string) => Promise<{ body: any }>): Promise<void> {
  await waitUntil(async () => (await get("/v1/health")).body.sources?.solana?.state === "live", "the watcher is live", 15_000);
}

/** Payments and policy events as one socket received them, in arrival order, in a comparable form. */
function timeline(socket: Socket): { items: string[]; until(count: number, timeoutMs?: number): Promise<string[]>; raw: any[] } {
  const items: string[] = [];
  const raw: any[] = [];
  const waiters: Array<() => void> = [];
  const push = (text: string, message: any) => {
    items.push(text);
    raw.push(message);
    for (const wake of waiters.splice(0)) wake();
  };
  socket.on("payment", (m: any) => push(`${m.data.trackingId} payment ${m.data.amountRaw} #${m.data.offset}`, m));
  socket.on("policy", (m: any) => push(`${m.data.trackingId} policy ${m.data.previousStatus ?? "-"}>${m.data.status} p${m.data.policyOffset}`, m));
  return {
    items,
    raw,
    async until(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (items.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out with ${items.length} of ${count} events: ${JSON.stringify(items)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return items;
    },
  };
}

describe("policy lifecycle events from the chain", () => {
  test("live and after a restart: attributed by creation, by account and by the kept mapping; failed, forged and unreadable events change nothing", async () => {
    const dataDir = freshDir();
    const start = () => startTestServer({ SOLANA_RPC_URL: node.httpUrl, SOLANA_WS_URL: node.wsUrl }, {}, dataDir);

    // Created before the service ever ran: only its account can name its tracking ID.
    const early = new ChainPolicy(node, "pre-existing", 1, { subscription: { amount: 7n, frequency: "weekly" } });
    early.create({ notify: false });

    let app: TestServer = await start();
    let socket: Socket | undefined;
    try {
      await live(app.get);
      socket = await app.connect();
      const seen = timeline(socket);
      for (const trackingId of ["pre-existing", "sub-b", "sub-c"]) await emitWithAck(socket, "subscribe", { trackingId });

      early.setStatus("paused");
      await seen.until(1);
      const paused = seen.raw[0];
      assert.equal(paused.type, "policy_status");
      assert.equal(typeof paused.timestamp, "number");
      assert.deepEqual(
        { ...paused.data, timestamp: 0, id: "", slot: 0 },
        {
          trackingId: "pre-existing",
          paymentPolicy: early.address,
          status: "paused",
          previousStatus: "active",
          signature: node.transactions.at(-1)!.signature,
          timestamp: 0,
          id: "",
          policyOffset: 1,
          afterOffset: 0,
          eventIndex: 0,
          slot: 0,
        },
      );
      assert.equal(paused.data.timestamp, node.transactions.at(-1)!.blockTime, "chain time of the block, in seconds");

      // Some(max_renewals) + Custom(u64): the longest Subscription encoding.
      const b = new ChainPolicy(node, "sub-b", 3, { subscription: { amount: 5n, maxRenewals: 3, frequency: { custom: 3600n } } });
      b.create();
      b.pay(5n);
      b.setStatus("paused");
      // A failed transaction and another program's look-alike event: nothing of them may count.
      node.addTransaction({ instructions: [{ ...changePaymentPolicyStatus(b.address, "paused", "active"), fail: "custom program error: 0x1770" }] });
      node.addTransaction({
        instructions: [{ programId: ROUTER, steps: [{ data: encodePolicyStatusChanged(b.address, "paused", "completed") }] }],
      });
      b.setStatus("active");
      // The first deployments' creation layout, and a deletion cut short that fits no layout.
      const c = new ChainPolicy(node, "sub-c", 1, { oneTime: { amount: 9n } });
      c.create({ legacy: true });
      node.addTransaction({
        instructions: [{ programId: PROGRAM_ID, steps: [{ data: encodePolicyDeleted(c.address, randomPubkey(), 1).subarray(0, 60) }] }],
      });
      b.pay(6n);
      await seen.until(7);
      assert.deepEqual(seen.items, [
        "pre-existing policy active>paused p1",
        "sub-b policy ->created p1",
        "sub-b payment 5 #1",
        "sub-b policy active>paused p2",
        "sub-b policy paused>active p3",
        "sub-c policy ->created p1",
        "sub-b payment 6 #2",
      ]);
      const created = seen.raw[1].data;
      assert.equal(created.paymentPolicy, b.address);
      assert.equal(created.gateway, b.gateway);
      assert.equal(created.recipient, b.recipient);
      assert.equal(seen.raw[4].data.afterOffset, 1, "the resume came after payment 1");
      const metrics = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } }).then((r) => r.text());
      assert.match(metrics, /tributary_solana_policy_events_total\{event="PaymentPolicyDeleted",outcome="malformed"\} 1/);
      assert.match(metrics, /tributary_solana_policy_lookups_total\{result="account"\} 1/);

      // The service goes away; the subscription runs out and is deleted meanwhile.
      socket.disconnect();
      await app.close({ keepData: true });
      b.pay(7n);
      b.setStatus("completed");
      b.delete();

      app = await start();
      await live(app.get);
      socket = await app.connect();
      const replay = timeline(socket);
      await emitWithAck(socket, "subscribe", { trackingId: "sub-b", since: 2, policySince: 3 });
      await replay.until(3);
      assert.deepEqual(replay.items, [
        "sub-b payment 7 #3",
        "sub-b policy active>completed p4",
        "sub-b policy ->deleted p5",
      ]);
      assert.equal(replay.raw[2].data.paymentPolicy, b.address, "the deletion found the mapping kept across the restart");

      // REST history: both kinds in replay order, by kind, and paged.
      const describe = (item: any) => (item.kind === "payment" ? `payment #${item.offset}` : `${item.status} p${item.policyOffset}`);
      const all = await app.get("/v1/history?trackingId=sub-b");
      assert.equal(all.status, 200);
      const order = ["created p1", "payment #1", "paused p2", "active p3", "payment #2", "payment #3", "completed p4", "deleted p5"];
      assert.deepEqual(all.body.items.map(describe), order);
      assert.deepEqual([all.body.nextAfter, all.body.nextPolicyAfter], [3, 5]);
      const onlyPolicy = await app.get("/v1/history?trackingId=sub-b&kind=policy");
      assert.deepEqual(onlyPolicy.body.items.map(describe), order.filter((text) => !text.startsWith("payment")));
      const paged: string[] = [];
      for (let after = 0, policyAfter = 0, pages = 0; pages < 10; pages++) {
        const page = await app.get(`/v1/history?trackingId=sub-b&limit=2&after=${after}&policyAfter=${policyAfter}`);
        if (page.body.items.length === 0) break;
        paged.push(...page.body.items.map(describe));
        ({ nextAfter: after, nextPolicyAfter: policyAfter } = page.body);
      }
      assert.deepEqual(paged, order);
      assert.equal((await app.get("/v1/history?trackingId=sub-b&kind=refunds")).body.error.code, "INVALID_QUERY");
      assert.equal((await app.get("/v1/payments?trackingId=sub-b")).body.payments.length, 3, "the payments route lists payments only");

      // A stock client that listens only to `payment` is told nothing else.
      const stock = io(app.url, { path: "/ws/v1", transports: ["websocket"], forceNew: true });
      try {
        const payments: any[] = [];
        stock.on("payment", (m: any) => payments.push(m));
        await nextEvent(stock, "connect");
        stock.emit("subscribe", { trackingId: "sub-b", since: 0 });
        await waitUntil(() => payments.length === 3, "the stock client has its three payments");
        assert.deepEqual(Object.keys(payments[0]).sort(), ["data", "timestamp", "type"]);
        assert.equal(payments[0].type, "payment_notification");
      } finally {
        stock.disconnect();
      }
    } finally {
      socket?.disconnect();
      await app.close();
    }
  });

  test("a policy the program completes inside its last payment (no status event) is reported completed after that payment, also for a policy first seen by its payments", async () => {
    const dataDir = freshDir();
    // Created before the service ran: it is first seen through a payment, and its account tells its type.
    const unseen = new ChainPolicy(node, "renewals-unseen", 1, { subscription: { amount: 3n, maxRenewals: 2, frequency: "daily" } });
    unseen.create({ notify: false });
    const app = await startTestServer({ SOLANA_RPC_URL: node.httpUrl, SOLANA_WS_URL: node.wsUrl }, {}, dataDir);
    try {
      await live(app.get);
      const socket = await app.connect();
      const seen = timeline(socket);
      for (const trackingId of ["renewals-seen", "renewals-unseen", "open-ended"]) await emitWithAck(socket, "subscribe", { trackingId });
      const seenPolicy = new ChainPolicy(node, "renewals-seen", 1, { subscription: { amount: 3n, maxRenewals: 2, frequency: "daily" } });
      // Without max_renewals a subscription never ends by itself: its payments cost no account read.
      const openEnded = new ChainPolicy(node, "open-ended", 1, { subscription: { amount: 3n, frequency: "daily" } });
      seenPolicy.create();
      openEnded.create();
      seenPolicy.pay(3n);
      unseen.pay(3n);
      openEnded.pay(3n);
      seenPolicy.pay(3n, { completes: true });
      const last = unseen.pay(3n, { completes: true });
      await seen.until(8);
      assert.deepEqual(seen.items, [
        "renewals-seen policy ->created p1",
        "open-ended policy ->created p1",
        "renewals-seen payment 3 #1",
        "renewals-unseen payment 3 #1",
        "open-ended payment 3 #1",
        "renewals-seen payment 3 #2",
        "renewals-seen policy active>completed p2",
        "renewals-unseen payment 3 #2",
      ]);
      await seen.until(9);
      assert.equal(seen.items[8], "renewals-unseen policy active>completed p1");
      assert.equal(seen.raw[8].data.signature, last.signature, "reported under the completing payment's transaction");
      const accountReads = node.calls.get("getAccountInfo") ?? 0;
      openEnded.pay(4n);
      await seen.until(10);
      assert.equal(node.calls.get("getAccountInfo") ?? 0, accountReads, "a policy that cannot end by itself is not read");
    } finally {
      await app.close();
    }
  });

  test("a client using since after the service was SIGKILLed gets every lifecycle event and payment once, in order", async () => {
    const dataDir = freshDir();
    const env = {
      SOLANA_RPC_URL: node.httpUrl,
      SOLANA_WS_URL: node.wsUrl,
      DATABASE_URL: `sqlite:${join(dataDir, "kill.sqlite")}`,
      TRIBUTARY_API_KEYS: TEST_API_KEY,
    };
    const get = (url: string) => async (path: string) => ({ body: await fetch(`${url}${path}`).then((r) => r.json()) });
    let server = await startServerProcess(env);
    const sockets: Socket[] = [];
    try {
      await live(get(server.url));
      const d = new ChainPolicy(node, "killed-sub", 2);
      const first = io(server.url, { path: "/ws/v1", transports: ["websocket"], reconnection: false });
      sockets.push(first);
      await nextEvent(first, "connect");
      const before = timeline(first);
      await emitWithAck(first, "subscribe", { trackingId: "killed-sub" });
      d.create();
      d.pay(1n);
      d.setStatus("paused");
      await before.until(3);
      server.child.kill("SIGKILL");
      await server.exited;

      d.setStatus("active");
      d.pay(2n);
      d.setStatus("completed");
      server = await startServerProcess(env);
      await live(get(server.url));
      const second = io(server.url, { path: "/ws/v1", transports: ["websocket"], reconnection: false });
      sockets.push(second);
      await nextEvent(second, "connect");
      const all = timeline(second);
      await emitWithAck(second, "subscribe", { trackingId: "killed-sub", since: 0, policySince: 0 });
      d.pay(3n);
      await all.until(7);
      assert.deepEqual(all.items, [
        "killed-sub policy ->created p1",
        "killed-sub payment 1 #1",
        "killed-sub policy active>paused p2",
        "killed-sub policy paused>active p3",
        "killed-sub payment 2 #2",
        "killed-sub policy active>completed p4",
        "killed-sub payment 3 #3",
      ]);
      assert.deepEqual(before.items, all.items.slice(0, 3));
    } finally {
      for (const socket of sockets) socket.close();
      if (server.child.exitCode === null) server.child.kill("SIGKILL");
    }
  });
});
