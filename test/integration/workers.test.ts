import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { connect, type Socket as TcpSocket } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { io, type Socket } from "socket.io-client";
import { paymentBody, randomPubkey } from "../support/payments.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { SolanaRpcStandIn } from "../support/solana-rpc-stand-in.js";
import { TEST_API_KEY } from "../support/test-server.js";
import { executePayment } from "../support/tributary-instructions.js";
import { collect, nextEvent, waitUntil } from "../support/wait.js";

const WORKERS = 3;
const dataDir = mkdtempSync(join(tmpdir(), "tributary-workers-"));
let chain: SolanaRpcStandIn;
let node: ServerProcess;
const sockets: Socket[] = [];

before(async () => {
  chain = await SolanaRpcStandIn.start();
  node = await startServerProcess({
    WORKERS: String(WORKERS),
    DATABASE_URL: `sqlite:${join(dataDir, "workers.sqlite")}`,
    TRIBUTARY_API_KEYS: TEST_API_KEY,
    SOLANA_RPC_URL: chain.httpUrl,
    SOLANA_WS_URL: chain.wsUrl,
  });
});
after(async () => {
  for (const socket of sockets) socket.close();
  node.child.kill("SIGKILL");
  await chain.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** As the spec's examples connect: without `transports` (long-polling, then the upgrade), or WebSocket only. */
async function subscribed(trackingId: string, transports?: ["websocket"]): Promise<Socket> {
  const socket = io(node.url, { path: "/ws/v1", forceNew: true, reconnection: false, ...(transports ? { transports } : {}) });
  sockets.push(socket);
  await nextEvent(socket, "connect");
  const ack = await socket.timeout(5000).emitWithAck("subscribe", { trackingId });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  return socket;
}

function publish(body: unknown): Promise<Response> {
  return fetch(`${node.url}/v1/payments`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TEST_API_KEY}` },
    body: JSON.stringify(body),
  });
}

/** Samples of one metric in /metrics, by their worker label. */
async function perWorker(name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const match of text.matchAll(new RegExp(`^${name}\\{worker="(\\d+)"\\} (\\S+)$`, "gm"))) {
    samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

describe(`a node with ${WORKERS} worker processes`, () => {
  test("clients on every worker, long-polling first or WebSocket only, get each payment once and in order", async () => {
    const trackingId = "workers-fan-out";
    const clients = await Promise.all(
      Array.from({ length: 12 }, (_, index) => subscribed(trackingId, index % 2 === 0 ? undefined : ["websocket"])),
    );
    const received = clients.map((socket) => collect<any>(socket, "payment"));
    // The sticky router spreads sessions over the workers.
    const connections = await perWorker("tributary_connections");
    assert.equal(connections.size, WORKERS, `connections by worker: ${[...connections]}`);
    assert.equal([...connections.values()].reduce((a, b) => a + b, 0), 12);
    assert.ok([...connections.values()].every((count) => count > 0), `connections by worker: ${[...connections]}`);

    // Each publish lands on one worker; the others get the payment over the cluster link.
    for (let i = 0; i < 10; i++) assert.equal((await publish(paymentBody({ trackingId, amount: String(i + 1) }))).status, 200);
    for (const [index, payments] of received.entries()) {
      const all = await payments.until(10);
      assert.deepEqual(
        all.map((message) => [message.data.offset, message.data.amountRaw]),
        Array.from({ length: 10 }, (_, i) => [i + 1, String(i + 1)]),
        `client ${index}`,
      );
    }
    // Long-polling sessions stayed on their worker through the upgrade.
    assert.ok(clients.every((socket) => socket.io.engine.transport.name === "websocket"));

    // Health is the node's, whichever worker answered: all connections, and the source that runs in worker 0.
    const health = (await (await fetch(`${node.url}/v1/health`)).json()) as any;
    assert.equal(health.connections, 12);
    assert.deepEqual(health.workers, { configured: WORKERS, answering: WORKERS });
    assert.equal(typeof health.sources.solana?.state, "string");

    const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as Record<string, number>;
    assert.equal(stats.connections, 12);
    assert.ok(stats.deliveriesTotal! >= 120, `deliveries ${stats.deliveriesTotal}`);
    assert.ok(stats.paymentsIngestedTotal! >= 10);
    for (const socket of clients) socket.close();
  });

  test("a batch of 1,000 payments, a body longer than the primary's first read, is stored and answered", async () => {
    const batch = Array.from({ length: 1000 }, (_, i) => paymentBody({ trackingId: `workers-batch-${i % 10}` }));
    const [first, second] = await Promise.all([publish(batch.slice(0, 500)), publish(batch.slice(500))]);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    const all = await publish(batch);
    assert.equal(all.status, 200);
    const body = (await all.json()) as { payments: Array<{ duplicate: boolean }> };
    assert.equal(body.payments.length, 1000);
    assert.ok(body.payments.every((payment) => payment.duplicate), "the same 1,000 again are all duplicates: every one was stored once");
  });

  test("a publisher's kept-alive connection carries its next batches; every other answer closes its connection", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const answers = [];
      for (let i = 0; i < 3; i++) {
        answers.push(await requestOver(agent, "POST", "/v1/payments", [paymentBody({ trackingId: `workers-kept-${i}` })]));
      }
      for (const answer of answers) assert.deepEqual([answer.status, answer.connection], [200, "keep-alive"]);
      assert.equal(new Set(answers.map((answer) => answer.localPort)).size, 1, "three publishes, one TCP connection");
      // The next request on that connection is not a publish: answered, and the connection is closed.
      const health = await requestOver(agent, "GET", "/v1/health");
      assert.deepEqual([health.status, health.connection, health.localPort], [200, "close", answers[0]!.localPort]);
      const next = await requestOver(agent, "POST", "/v1/payments", [paymentBody({ trackingId: "workers-kept-3" })]);
      assert.notEqual(next.localPort, answers[0]!.localPort);
    } finally {
      agent.destroy();
    }
  });

  test("the chain source runs in one worker only, and its payments reach clients of every worker once", async () => {
    await waitUntil(() => chain.subscriptionCount > 0, "the chain watcher subscribes", 10_000);
    const trackingId = "workers-chain";
    const clients = await Promise.all(Array.from({ length: 6 }, () => subscribed(trackingId, ["websocket"])));
    const received = clients.map((socket) => collect<any>(socket, "payment"));
    const payer = randomPubkey();
    const transactions = [1n, 2n, 3n].map((amount) =>
      chain.addTransaction({
        instructions: [executePayment([{ memo: trackingId, amount, payer, recipient: randomPubkey(), tokenMint: randomPubkey() }])],
      }),
    );
    for (const payments of received) {
      const all = await payments.until(3, 10_000);
      assert.deepEqual(
        all.map((message) => message.data.signature),
        transactions.map((transaction) => transaction.signature),
      );
    }
    assert.equal(chain.subscriptionCount, 1, "one watcher for the node, not one per worker");
    for (const socket of clients) socket.close();
  });

  test("a worker that dies is started again, and the node keeps serving", async () => {
    const ready = () => node.logs.filter((log) => log.msg === "worker ready");
    const before = ready().length;
    const victim = ready().find((log) => log.worker === 1);
    assert.ok(victim !== undefined);
    const starting = () => node.logs.filter((log) => log.msg === "starting worker" && log.worker === 1).length;
    const startedBefore = starting();
    process.kill(victim.pid as number, "SIGKILL");
    await waitUntil(() => node.logs.some((log) => log.msg === "a worker exited; starting it again" && log.worker === 1), "the primary notices", 10_000);
    // While the new worker starts, connections go to the others, none to it before it takes them.
    await waitUntil(() => starting() > startedBefore, "the new worker is starting", 10_000);
    const trackingId = "workers-restart";
    const early = await Promise.all(Array.from({ length: WORKERS * 2 }, () => subscribed(trackingId, ["websocket"])));
    assert.equal(ready().length, before, "the early clients connected before the new worker was ready");
    await waitUntil(() => ready().length > before, "the worker is back", 20_000);

    const clients = [...early, ...(await Promise.all(Array.from({ length: WORKERS * 2 }, () => subscribed(trackingId, ["websocket"]))))];
    const received = clients.map((socket) => collect<any>(socket, "payment"));
    assert.equal((await publish(paymentBody({ trackingId }))).status, 200);
    for (const payments of received) await payments.until(1);
    assert.equal((await perWorker("tributary_connections")).size, WORKERS);
    for (const socket of clients) socket.close();
  });

  test("SIGTERM drains every worker, signalled twice as a process group is: clients are told, and the node exits 0", async () => {
    const client = await subscribed("workers-drain", ["websocket"]);
    const told = nextEvent<any>(client, "error");
    // What Ctrl-C or systemd does: every process gets the signal, then the primary passes it on.
    const live = new Map<number, number>();
    for (const log of node.logs.filter((entry) => entry.msg === "worker ready")) live.set(log.worker as number, log.pid as number);
    for (const pid of live.values()) process.kill(pid, "SIGTERM");
    node.child.kill("SIGTERM");
    const error = await told;
    assert.equal(error.data.code, "CONNECTION_ERROR");
    assert.equal(await node.exited, 0);
    assert.equal(node.logs.filter((log) => log.msg === "closed").length, WORKERS);
  });
});

describe("a node with worker processes and a small per-address TCP cap", () => {
  let capped: ServerProcess;
  before(async () => {
    capped = await startServerProcess({
      WORKERS: "2",
      DATABASE_URL: `sqlite:${join(dataDir, "capped.sqlite")}`,
      MAX_CONNECTIONS_PER_IP: "2",
      MAX_HTTP_CONNECTIONS_PER_IP: "3",
    });
  });
  after(() => {
    capped.child.kill("SIGKILL");
  });

  test("the primary counts a connection until it hands it over, so closed ones never add up to a lockout", async () => {
    // Each answer closes its connection: twelve requests are twelve connections, four times the cap.
    for (let i = 0; i < 12; i++) assert.equal((await fetch(`${capped.url}/v1/health`)).status, 200, `request ${i + 1}`);
    // Connections that have sent nothing stay with the primary and count: past the cap, the next one is closed unread.
    const { port } = new URL(capped.url);
    const held = await Promise.all([1, 2, 3].map(() => openConnection(Number(port))));
    const refused = await openConnection(Number(port));
    refused.on("error", () => undefined);
    await once(refused, "close");
    for (const socket of held) socket.destroy();
    await waitUntil(async () => (await fetch(`${capped.url}/v1/health`).catch(() => undefined))?.status === 200, "a request is answered again");
  });
});

/** One request over `agent`: its status, its `Connection` header and the local port of the TCP connection it used. */
function requestOver(
  agent: Agent,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; connection: string | undefined; localPort: number | undefined }> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      new URL(path, node.url),
      {
        method,
        agent,
        headers: text === undefined ? {} : { "content-type": "application/json", authorization: `Bearer ${TEST_API_KEY}` },
      },
      (response) => {
        const localPort = response.socket.localPort;
        response.resume();
        response.on("end", () => resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, localPort }));
      },
    );
    outgoing.on("error", reject);
    outgoing.end(text);
  });
}

async function openConnection(port: number): Promise<TcpSocket> {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  return socket;
}
