/**
 * The SQLite store alone, without sockets or HTTP: appends unicast-shaped groups (one payment per tracking ID,
 * tracking IDs chosen at random from up to 97 × `--tracking-ids`, so most payments bring one the writer has not
 * seen, as real traffic does) through the store's real writer thread, and reports durable payments/s, process
 * CPU per payment (main thread + writer thread) and bytes written to disk per payment from /proc/self/io
 * (`write_bytes`: the WAL, its checkpoints and the database file), each append's latency from the call to
 * its durable answer, and the most each write-ahead log held (a log that never starts over grows without bound).
 * `--rate` paces the appends as the unicast scenario's publisher does (one batch every 5 ms); without it the
 * store runs flat out.
 *
 *   npx tsx bench/store-append.ts --payments 200000 --tracking-ids 2000 --batch 50 [--rate 10000]
 */
import { Command } from "commander";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import bs58 from "bs58";
import type { PaymentInput } from "../src/payment.js";
import { paymentIndexPath } from "../src/store/sqlite-payment-index.js";
import { openSqliteStore } from "../src/store/sqlite-store.js";
import { LatencyHistogram } from "./latency-histogram.js";
import { sampleProcess } from "./proc-stats.js";

const options = new Command()
  .option("--payments <n>", "payments to append", "200000")
  .option("--tracking-ids <n>", "orders per merchant: tracking IDs are merchant-<0..96>:order-<0..n-1>, up to 97 × n of them", "2000")
  .option("--batch <n>", "payments per append call", "50")
  .option("--rate <n>", "payments per second (0: as fast as the store goes)", "0")
  .option("--out <file>", "JSON report")
  .parse()
  .opts<{ payments: string; trackingIds: string; batch: string; rate: string; out?: string }>();

const total = Number(options.payments);
const ids = Number(options.trackingIds);
const batch = Number(options.batch);
const rate = Number(options.rate);

function payment(i: number): PaymentInput {
  return {
    trackingId: `merchant-${i % 97}:order-${Math.floor(Math.random() * ids)}`,
    amount: 1_000_000n + BigInt(i),
    timestamp: 1_760_000_000 + Math.floor(i / 1000),
    status: "executed",
    // Random, as chain signatures are (and the socket scenarios' scrambled counter-made ones).
    signature: bs58.encode(randomBytes(64)),
    eventIndex: 0,
    slot: 300_000_000 + Math.floor(i / 400),
  };
}

const dir = mkdtempSync(join(tmpdir(), "store-append-"));
const path = join(dir, "payments.sqlite");
const store = openSqliteStore({ path, ...(process.env.STORE_INLINE ? { now: Date.now } : {}) });
try {
  await store.ping();
  // Made before the clock starts: encoding a random signature costs more than storing it.
  const batches: PaymentInput[][] = [];
  for (let i = 0; i < total; i += batch) batches.push(Array.from({ length: Math.min(batch, total - i) }, (_, k) => payment(i + k)));
  const distinctIds = new Set(batches.flatMap((payments) => payments.map((p) => p.trackingId))).size;
  const bytesBefore = sampleProcess(process.pid).writeBytes;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const inFlight = new Set<Promise<unknown>>();
  const latency = new LatencyHistogram();
  let appended = 0;
  for (const [n, payments] of batches.entries()) {
    const i = n * batch;
    const asked = performance.now();
    const append = store.append(payments).then(() => {
      latency.record((performance.now() - asked) * 1000);
      appended += payments.length;
      inFlight.delete(append);
    });
    inFlight.add(append);
    if (rate > 0) {
      const due = started + ((i + batch) / rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    } else if (inFlight.size >= 64) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const written = sampleProcess(process.pid).writeBytes - bytesBefore;
  // A log that starts over keeps its file's size, so the size is the most it held: about 4 MB (1,000 frames) when checkpoints keep up.
  const walBytes = { payments: sizeOf(`${path}-wal`), index: sizeOf(`${paymentIndexPath(path)}-wal`) };
  const report = {
    payments: appended,
    trackingIds: distinctIds,
    batch,
    rate,
    seconds,
    paymentsPerSecond: appended / seconds,
    cpuMicrosPerPayment: (cpu.user + cpu.system) / appended,
    bytesWrittenPerPayment: written / appended,
    appendLatency: latency.summary(),
    walBytes,
  };
  console.log(
    `${appended} payments in ${seconds.toFixed(2)} s: ${Math.round(report.paymentsPerSecond)}/s, ` +
      `${report.cpuMicrosPerPayment.toFixed(1)} µs CPU and ${Math.round(report.bytesWrittenPerPayment)} B written per payment, ` +
      `append latency p50 ${report.appendLatency.p50Ms.toFixed(2)} p99 ${report.appendLatency.p99Ms.toFixed(2)} ms, ` +
      `${distinctIds} tracking IDs, write-ahead logs at most ${mib(walBytes.payments)} (payments) and ${mib(walBytes.index)} MiB (index)`,
  );
  if (options.out !== undefined) writeFileSync(options.out, JSON.stringify(report, null, 2));
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

function sizeOf(file: string): number {
  return existsSync(file) ? statSync(file).size : 0;
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
