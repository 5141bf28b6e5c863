/**
 * The attacks of a stranger without a key, against a running server on its
 * defaults, with an honest bystander on another loopback address measuring
 * its /v1/health and a payment delivery meanwhile. Prints one line per
 * attack. Loopback only: the target must be a 127.x address.
 *
 *   TARGET=http://127.0.0.1:8080 API_KEY=<a key of the server> npx tsx bench/hostile-probe.ts
 */
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { connect as tcpConnect, type Socket as TcpSocket } from "node:net";
import bs58 from "bs58";
import { io } from "socket.io-client";
import WebSocket from "ws";

const target = new URL(process.env.TARGET ?? "http://127.0.0.1:8080");
if (!target.hostname.startsWith("127.")) throw new Error("TARGET must be a loopback address");
const apiKey = process.env.API_KEY ?? "";
const ATTACKER = "127.0.0.1";
const BYSTANDER = "127.0.0.2";

function request(options: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer | string; from: string }) {
  const startedAt = performance.now();
  return new Promise<{ status: number; bytes: number; ms: number }>((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: options.path,
        method: options.method ?? "GET",
        headers: { connection: "close", ...options.headers },
        localAddress: options.from,
      },
      (response) => {
        let bytes = 0;
        response.on("data", (chunk: Buffer) => (bytes += chunk.length));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, bytes, ms: performance.now() - startedAt }));
      },
    );
    outgoing.on("error", reject);
    outgoing.end(options.body);
  });
}

function describe(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return `median ${median.toFixed(0)} ms, max ${(sorted.at(-1) ?? 0).toFixed(0)} ms (n=${values.length})`;
}

/** Health checks and deliveries of an honest client, back to back, while `attack` runs. */
async function withBystander(label: string, attack: () => Promise<string>): Promise<void> {
  const socket = io(target.origin, { path: "/ws/v1", transports: ["websocket"], forceNew: true, localAddress: BYSTANDER } as never);
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  const trackingId = `bystander-${randomBytes(4).toString("hex")}`;
  await socket.timeout(5000).emitWithAck("subscribe", { trackingId });
  const health: number[] = [];
  const delivery: number[] = [];
  let running = true;
  const probe = (async () => {
    while (running) {
      health.push((await request({ path: "/v1/health", from: BYSTANDER })).ms);
      if (apiKey === "") continue;
      const signature = bs58.encode(randomBytes(64));
      const startedAt = performance.now();
      const arrived = new Promise<void>((resolve) => {
        const listener = (payment: { data: { signature: string } }) => {
          if (payment.data.signature !== signature) return;
          socket.off("payment", listener);
          resolve();
        };
        socket.on("payment", listener);
      });
      const body = JSON.stringify({ trackingId, amount: "1", timestamp: 1_700_000_000, signature, status: "executed" });
      await request({ method: "POST", path: "/v1/payments", from: BYSTANDER, body, headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` } });
      await arrived;
      delivery.push(performance.now() - startedAt);
    }
  })();
  const outcome = await attack();
  running = false;
  await probe;
  socket.disconnect();
  console.log(`${label}: ${outcome}; bystander health ${describe(health)}${apiKey === "" ? "" : `; delivery ${describe(delivery)}`}`);
}

async function deepJson(): Promise<string> {
  const deep = Buffer.from(`${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}`);
  const statuses = new Map<number, number>();
  const startedAt = performance.now();
  for (let round = 0; round < 4; round++) {
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        request({ method: "POST", path: "/v1/payments", from: ATTACKER, body: deep, headers: { "content-type": "application/json" } }),
      ),
    );
    for (const answer of answers) statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
  }
  return `40 bodies in ${(performance.now() - startedAt).toFixed(0)} ms, statuses ${JSON.stringify(Object.fromEntries(statuses))}`;
}

async function historyFlood(): Promise<string> {
  const trackingId = "history-probe";
  if (apiKey !== "") {
    // A thousand payments to read, as a busy tracking ID has.
    const body = JSON.stringify(
      Array.from({ length: 1000 }, () => ({ trackingId, amount: "1", timestamp: 1_700_000_000, signature: bs58.encode(randomBytes(64)), status: "executed" })),
    );
    await request({ method: "POST", path: "/v1/payments", from: BYSTANDER, body, headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` } });
  }
  let requests = 0;
  let bytes = 0;
  let refused = 0;
  const until = performance.now() + 5000;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < until) {
        const answer = await request({ path: `/v1/payments?trackingId=${trackingId}&limit=1000`, from: ATTACKER });
        requests++;
        bytes += answer.bytes;
        if (answer.status === 429) refused++;
      }
    }),
  );
  return `${(requests / 5).toFixed(0)} requests/s, ${(bytes / 5 / 2 ** 20).toFixed(2)} MiB/s out, ${refused} refused with 429`;
}

async function slowBodies(): Promise<string> {
  const sockets: TcpSocket[] = [];
  let closedByServer = 0;
  for (let i = 0; i < 3000; i++) {
    const socket = tcpConnect({ port: Number(target.port), host: target.hostname, localAddress: ATTACKER });
    socket.on("error", () => undefined);
    socket.once("close", () => closedByServer++);
    // Half a body that never ends, half headers that never end; no key, as a stranger has none.
    socket.once("connect", () =>
      socket.write(
        i % 2 === 0
          ? "POST /v1/payments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n["
          : "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ",
      ),
    );
    sockets.push(socket);
  }
  // Each open connection trickles a byte a second, for ten seconds.
  for (let second = 0; second < 10; second++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const socket of sockets) if (!socket.destroyed && socket.readyState === "open") socket.write(" ");
  }
  const stillOpen = sockets.filter((socket) => !socket.destroyed).length;
  for (const socket of sockets) socket.destroy();
  return `3000 slow requests from one address: ${stillOpen} still held open after 10 s, ${closedByServer} closed by the server`;
}

async function recoveryChurn(): Promise<string> {
  const heapBefore = await heapUsed();
  const startedAt = performance.now();
  const cycles = Number(process.env.CHURN_CYCLES ?? 1000);
  for (let cycle = 0; cycle < cycles; cycle++) {
    const ws = new WebSocket(`ws://${target.host}/ws/v1/?EIO=4&transport=websocket`, { localAddress: ATTACKER });
    await new Promise<void>((resolve, reject) => {
      ws.on("error", reject);
      ws.on("message", (data) => {
        const frame = data.toString();
        if (frame.startsWith("0{")) ws.send("40");
        else if (frame.startsWith("40")) {
          for (let i = 0; i < 100; i++) ws.send(`42${JSON.stringify(["subscribe", { trackingId: `churn-${cycle}-${i}` }])}`);
        } else if (frame.includes(`churn-${cycle}-99`)) resolve();
      });
    });
    ws.terminate();
  }
  const stats = (await (await fetch(`${target.origin}/v1/stats`)).json()) as { subscriptions: number };
  return `${cycles} cycles in ${(performance.now() - startedAt).toFixed(0)} ms; heap ${heapBefore} → ${await heapUsed()} MiB; /v1/stats subscriptions ${stats.subscriptions}`;
}

async function fillSubscriptions(): Promise<string> {
  let accepted = 0;
  let refused = 0;
  const sockets = [];
  for (let s = 0; s < 150; s++) {
    const socket = io(target.origin, { path: "/ws/v1", transports: ["websocket"], forceNew: true, reconnection: false, localAddress: ATTACKER } as never);
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    sockets.push(socket);
    const answers = (await Promise.all(
      Array.from({ length: 100 }, (_, i) => socket.timeout(10_000).emitWithAck("subscribe", { trackingId: `fill-${s}-${i}` })),
    )) as Array<{ ok: boolean }>;
    for (const answer of answers) if (answer.ok) accepted++;
    else refused++;
  }
  const other = io(target.origin, { path: "/ws/v1", transports: ["websocket"], forceNew: true, reconnection: false, localAddress: BYSTANDER } as never);
  await new Promise<void>((resolve) => other.once("connect", () => resolve()));
  const otherAnswer = (await other.timeout(5000).emitWithAck("subscribe", { trackingId: "fill-other" })) as { ok: boolean };
  for (const socket of [...sockets, other]) socket.disconnect();
  return `150 sockets × 100 subscriptions from one address: ${accepted} accepted, ${refused} refused; another address subscribes: ${otherAnswer.ok}`;
}

async function heapUsed(): Promise<string> {
  const text = await (await fetch(`${target.origin}/metrics`)).text();
  const value = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1];
  return value === undefined ? "?" : (Number(value) / 2 ** 20).toFixed(0);
}

const only = process.argv[2];
const attacks: Array<[string, () => Promise<string>]> = [
  ["deep JSON without a key", deepJson],
  ["history reads without a key", historyFlood],
  ["slow bodies", slowBodies],
  ["recovery churn", recoveryChurn],
  ["subscriptions from one address", fillSubscriptions],
];
for (const [label, attack] of attacks) {
  if (only !== undefined && !label.includes(only)) continue;
  await withBystander(label, attack);
}
process.exit(0);
