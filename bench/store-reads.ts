/**
 * What the SQLite store's reads cost the event loop, alone and beside a busy writer: fills a store, then times a
 * subscribe's head read, a replay page and a policy-event page, each either with nothing committed since the last
 * read or right after a commit of the writer thread, which is what reads meet while payments flow (a reconnect
 * storm's replays, for one).
 *
 *   npx tsx bench/store-reads.ts --payments 60000 --tracking-ids 10000 --reads 2000 [--out report.json]
 */
import { Command } from "commander";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStore } from "../src/store/sqlite-store.js";
import { appendSpread, spreadPayments, spreadTrackingId } from "./spread-payments.js";

const options = new Command()
  .option("--payments <n>", "payments in the store before the reads", "60000")
  .option("--tracking-ids <n>", "distinct tracking IDs they are spread over", "10000")
  .option("--reads <n>", "reads of each kind and each case", "2000")
  .option("--out <file>", "JSON report")
  .parse()
  .opts<{ payments: string; trackingIds: string; reads: string; out?: string }>();

const total = Number(options.payments);
const ids = Number(options.trackingIds);
const reads = Number(options.reads);
const payment = spreadPayments(ids);

const dir = mkdtempSync(join(tmpdir(), "store-reads-"));
const store = openSqliteStore({ path: join(dir, "payments.sqlite") });
try {
  await appendSpread(store, payment, 0, total);
  let next = total;
  const kinds: Record<string, (trackingId: string) => Promise<unknown>> = {
    heads: (trackingId) => store.heads([trackingId]),
    list: (trackingId) => store.list({ trackingId, after: 0, limit: 100 }),
    listPolicyEvents: (trackingId) => store.listPolicyEvents({ trackingId, after: 0, limit: 100 }),
  };
  const report: Record<string, { quietMicros: number; afterCommitMicros: number }> = {};
  for (const [kind, read] of Object.entries(kinds)) {
    const micros = { quiet: 0, afterCommit: 0 };
    for (const afterCommit of [false, true]) {
      let spent = 0;
      for (let i = 0; i < reads; i++) {
        if (afterCommit) await store.append([payment(next++)]);
        const trackingId = spreadTrackingId(i * 7919, ids);
        const started = performance.now();
        await read(trackingId);
        spent += (performance.now() - started) * 1000;
      }
      micros[afterCommit ? "afterCommit" : "quiet"] = spent / reads;
    }
    report[kind] = { quietMicros: Number(micros.quiet.toFixed(1)), afterCommitMicros: Number(micros.afterCommit.toFixed(1)) };
    console.log(`${kind}: ${micros.quiet.toFixed(1)} µs with nothing committed since the last read, ${micros.afterCommit.toFixed(1)} µs right after a commit`);
  }
  if (options.out !== undefined) writeFileSync(options.out, `${JSON.stringify({ payments: total, trackingIds: ids, reads, ...report }, null, 2)}\n`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
