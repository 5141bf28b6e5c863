/**
 * `npm run bench:recovery` — what connection-state recovery costs the
 * server, with Socket.IO's stock SessionAwareAdapter and with ours
 * (src/gateway/engine/recovery-adapter.ts), on the same payments:
 *
 * - heap per kept payment: N payment envelopes broadcast to 5,000 tracking
 *   rooms, heap used after a forced GC, before and after, divided by N;
 * - restore: M sessions of two rooms each come back with an offset K packets
 *   behind the newest; time per restore, after one untimed pass;
 * - keeping at the cap (ours only; the stock adapter has no cap): with the
 *   service's default of 250,000 packets kept, CPU time per payment broadcast
 *   to one of `--live-rooms` tracking rooms at random, and the time in GC.
 *   Real traffic spreads over many tracking IDs, each paid rarely.
 *
 * Each adapter is measured in a child process of its own (`--expose-gc`), so
 * neither sees the other's garbage. Prints a table and writes
 * bench/results/recovery-buffer-<timestamp>.json.
 *
 *   npm run bench:recovery
 *   npm run bench:recovery -- --payments 200000 --behind 20000 --sessions 200
 *   npm run bench:recovery -- --live-rooms 200000 --live-payments 1000000
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PerformanceObserver } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Server } from "socket.io";
import { SessionAwareAdapter, type Adapter } from "socket.io-adapter";
import { paymentEnvelope } from "../src/protocol/envelopes.js";
import { recoveryAdapter } from "../src/gateway/engine/recovery-adapter.js";
import type { StoredPayment } from "../src/payment.js";

const ADAPTERS = ["stock", "ours"] as const;
type AdapterName = (typeof ADAPTERS)[number];
const ROOMS = 5000;
const RESULTS = fileURLToPath(new URL("./results/", import.meta.url));
/** The service's default RECOVERY_MAX_PACKETS. */
const LIVE_MAX_PACKETS = 250_000;

interface Measurement {
  adapter: AdapterName;
  payments: number;
  heapBytesPerPayment: number;
  behind: number;
  sessions: number;
  restoreMs: number;
  missedPerSession: number;
  /** Keeping at the cap; undefined for the stock adapter, which has none. */
  live: { rooms: number; payments: number; cpuMicrosPerPayment: number; gcMicrosPerPayment: number } | undefined;
}

const { values } = parseArgs({
  options: {
    payments: { type: "string", default: "200000" },
    behind: { type: "string", default: "20000" },
    sessions: { type: "string", default: "200" },
    "live-rooms": { type: "string", default: "200000" },
    "live-payments": { type: "string", default: "1000000" },
    measure: { type: "string" },
    out: { type: "string", default: RESULTS },
  },
});
const payments = Number(values.payments);
const behind = Math.min(Number(values.behind), payments);
const sessions = Math.min(Number(values.sessions), ROOMS);
const liveRooms = Number(values["live-rooms"]);
const livePayments = Number(values["live-payments"]);

/** A payment as the chain watcher stores it: every optional field set, base58 keys of real length. */
function payment(i: number): StoredPayment {
  const key = (tag: string) => `${tag}${String(i).padStart(43, "1")}`.slice(0, 44);
  return {
    trackingId: `order-${i % ROOMS}`,
    amount: 1_000_000n + BigInt(i),
    timestamp: 1_700_000_000,
    status: "executed",
    signature: `${"5".repeat(80)}${String(i).padStart(8, "1")}`,
    eventIndex: 0,
    paymentPolicy: key("P"),
    gateway: key("G"),
    payer: key("A"),
    recipient: key("R"),
    tokenMint: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
    recordId: i,
    slot: 300_000_000 + i,
    id: `${i}:0`,
    offset: Math.floor(i / ROOMS) + 1,
    receivedAt: 1_700_000_000_000,
  };
}

async function measure(name: AdapterName): Promise<Measurement> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with --expose-gc");
  const io = new Server({
    adapter: name === "stock" ? SessionAwareAdapter : recoveryAdapter({ maxPackets: Number.MAX_SAFE_INTEGER }),
    connectionStateRecovery: {},
  });
  const adapter = io.of("/").adapter as Adapter;
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  let offset = "";
  for (let i = 0; i < payments; i++) {
    const data: unknown[] = ["payment", paymentEnvelope(payment(i), 1_700_000_000_000)];
    adapter.broadcast({ type: 2, data }, { rooms: new Set([`t:order-${i % ROOMS}`]), except: new Set(), flags: {} });
    if (i === payments - behind - 1) offset = data.at(-1) as string;
  }
  gc();
  gc();
  const heapBytesPerPayment = (process.memoryUsage().heapUsed - before) / payments;

  const persistAll = () => {
    for (let s = 0; s < sessions; s++) {
      adapter.persistSession({ sid: `sid-${s}`, pid: `pid-${s}`, rooms: [`sid-${s}`, `t:order-${s}`], data: {} });
    }
  };
  persistAll();
  // One untimed pass first, so the timed one measures compiled code. Ours restores a session once, so each
  // pass has its sessions persisted again, as a client that drops a second time has.
  for (let s = 0; s < sessions; s++) await adapter.restoreSession(`pid-${s}`, offset);
  persistAll();
  let missed = 0;
  const start = performance.now();
  for (let s = 0; s < sessions; s++) missed += (await adapter.restoreSession(`pid-${s}`, offset)).missedPackets.length;
  const restoreMs = (performance.now() - start) / sessions;
  adapter.close();
  const live = name === "ours" ? await measureLive() : undefined;
  return { adapter: name, payments, heapBytesPerPayment, behind, sessions, restoreMs, missedPerSession: missed / sessions, live };
}

/** CPU and GC time per payment kept by our adapter at the service's cap, each to a random one of `liveRooms` rooms. */
async function measureLive(): Promise<Measurement["live"]> {
  const io = new Server({ adapter: recoveryAdapter({ maxPackets: LIVE_MAX_PACKETS }), connectionStateRecovery: {} });
  const adapter = io.of("/").adapter as Adapter;
  const rooms = Array.from({ length: liveRooms }, (_, i) => `t:order-${i}`);
  // A fixed sequence, so both checkouts of an A/B see the same rooms.
  let seed = 1;
  const broadcast = (count: number) => {
    for (let i = 0; i < count; i++) {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      const room = rooms[seed % liveRooms]!;
      const data: unknown[] = ["payment", paymentEnvelope(payment(i), 1_700_000_000_000)];
      adapter.broadcast({ type: 2, data }, { rooms: new Set([room]), except: new Set(), flags: { local: true } });
    }
  };
  // Filled to the cap first, so every timed payment also drops the oldest.
  broadcast(LIVE_MAX_PACKETS + 50_000);
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  observer.observe({ entryTypes: ["gc"] });
  const start = process.cpuUsage();
  broadcast(livePayments);
  const cpu = process.cpuUsage(start);
  // Node records each collection's entry in the next turn of the event loop, and hands it to the callback later still.
  await new Promise((resolve) => setImmediate(resolve));
  for (const entry of observer.takeRecords()) gcMs += entry.duration;
  observer.disconnect();
  adapter.close();
  return {
    rooms: liveRooms,
    payments: livePayments,
    cpuMicrosPerPayment: (cpu.user + cpu.system) / livePayments,
    gcMicrosPerPayment: (gcMs * 1000) / livePayments,
  };
}

if (values.measure !== undefined) {
  const name = values.measure as AdapterName;
  if (!ADAPTERS.includes(name)) throw new Error(`--measure takes ${ADAPTERS.join(" or ")}`);
  process.stdout.write(JSON.stringify(await measure(name)));
} else {
  const script = fileURLToPath(import.meta.url);
  const results = ADAPTERS.map((name) => {
    const args = ["--expose-gc", "--import", "tsx", script, "--measure", name];
    args.push("--payments", String(payments), "--behind", String(behind), "--sessions", String(sessions));
    args.push("--live-rooms", String(liveRooms), "--live-payments", String(livePayments));
    return JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8" })) as Measurement;
  });
  console.log(`${payments.toLocaleString("en")} payments kept over ${ROOMS} rooms; ${sessions} sessions return ${behind.toLocaleString("en")} packets behind\n`);
  console.log(
    `Keeping at the cap: ${livePayments.toLocaleString("en")} payments to ${liveRooms.toLocaleString("en")} rooms at random, ` +
      `${LIVE_MAX_PACKETS.toLocaleString("en")} kept\n`,
  );
  console.log("| adapter | heap bytes per kept payment | ms per restore | missed per session | µs CPU per payment kept at the cap | of which GC |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const r of results) {
    const live = r.live === undefined ? "— | —" : `${r.live.cpuMicrosPerPayment.toFixed(2)} | ${r.live.gcMicrosPerPayment.toFixed(2)}`;
    console.log(`| ${r.adapter} | ${Math.round(r.heapBytesPerPayment)} | ${r.restoreMs.toFixed(3)} | ${r.missedPerSession} | ${live} |`);
  }
  mkdirSync(values.out, { recursive: true });
  const file = `${values.out.replace(/\/$/, "")}/recovery-buffer-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  writeFileSync(file, JSON.stringify({ startedAt: new Date().toISOString(), node: process.version, results }, null, 2));
  console.log(`\nwrote ${file}`);
}
