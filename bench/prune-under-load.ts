/**
 * What retention costs the payments stored while it runs, on the SQLite store alone: fills a store, then prunes it
 * while one payment is appended every 5 ms, and reports how long the prune took and how long those appends waited
 * (median and slowest). The writer thread answers requests in order, so an append waits for whatever the prune holds
 * it behind.
 *
 *   npx tsx bench/prune-under-load.ts --payments 300000 --tracking-ids 30000 --bound age|count|scan [--out report.json]
 *
 * `age` prunes every row by age; `count` keeps the newest row per tracking ID; `scan` keeps 100 per tracking ID, so
 * it deletes nothing and only reads the index. `--prior` first runs the same prune once and appends 1,000 payments,
 * as a retention interval before it would have, and measures the prune after that.
 */
import { Command, Option } from "commander";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { RetentionPolicy } from "../src/store/payment-store.js";
import { openSqliteStore } from "../src/store/sqlite-store.js";
import { appendSpread, spreadPayments } from "./spread-payments.js";

const options = new Command()
  .option("--payments <n>", "payments in the store before the prune", "300000")
  .option("--tracking-ids <n>", "distinct tracking IDs they are spread over", "30000")
  .addOption(new Option("--bound <bound>", "what the prune deletes").choices(["age", "count", "scan"]).default("age"))
  .option("--prior", "run the same prune once before, then append 1,000 payments, and measure the next prune", false)
  .option("--out <file>", "JSON report")
  .parse()
  .opts<{ payments: string; trackingIds: string; bound: "age" | "count" | "scan"; prior: boolean; out?: string }>();

const total = Number(options.payments);
const ids = Number(options.trackingIds);
const payment = spreadPayments(ids);

const dir = mkdtempSync(join(tmpdir(), "prune-under-load-"));
const store = openSqliteStore({ path: join(dir, "payments.sqlite") });
try {
  await appendSpread(store, payment, 0, total);
  const policy: RetentionPolicy =
    options.bound === "age" ? { receivedBefore: Date.now() + 1 } : { keepPerTrackingId: options.bound === "count" ? 1 : 100 };
  let next = total;
  if (options.prior) {
    await store.prune(policy);
    await appendSpread(store, payment, next, 1000);
    next += 1000;
  }
  const started = performance.now();
  let pruneMs: number | undefined;
  const pruned = store.prune(policy).then((deleted) => {
    pruneMs = performance.now() - started;
    return deleted;
  });
  const waits: number[] = [];
  for (let i = next; pruneMs === undefined; i++) {
    const sent = performance.now();
    await store.append([payment(i)]);
    waits.push(performance.now() - sent);
    await sleep(5);
  }
  const deleted = await pruned;
  waits.sort((a, b) => a - b);
  const report = {
    payments: total,
    trackingIds: ids,
    bound: options.bound,
    prior: options.prior,
    deleted,
    pruneMs: Math.round(pruneMs),
    appendsDuringPrune: waits.length,
    appendWaitMedianMs: Number((waits[Math.floor(waits.length / 2)] ?? 0).toFixed(1)),
    appendWaitMaxMs: Number((waits.at(-1) ?? 0).toFixed(1)),
  };
  console.log(
    `prune (${report.bound}${options.prior ? ", after a prior one" : ""}) of ${total} payments over ${ids} tracking IDs deleted ${deleted} in ${report.pruneMs} ms; ` +
      `${report.appendsDuringPrune} appends meanwhile waited ${report.appendWaitMedianMs} ms (median), ${report.appendWaitMaxMs} ms (slowest)`,
  );
  if (options.out !== undefined) writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
