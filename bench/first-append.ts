/**
 * What a reopened SQLite store's first append costs: its writer takes the
 * identity table the last clean close saved, or reads the identities of
 * every stored payment (`--unsaved`, as after a crash) (identity-table.ts).
 * Fills a store, closes it (timed: the close saves the table) and reopens
 * it, and times the first append of one payment against the second, and what it adds to the process's anonymous
 * memory (the file's pages the scan maps count in RSS too, but are the page
 * cache's).
 *
 *   taskset -c 0 npx tsx bench/first-append.ts --payments 1000000
 */
import { Command } from "commander";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { paymentIndexPath } from "../src/store/sqlite-payment-index.js";
import { openSqliteStore } from "../src/store/sqlite-store.js";
import { appendSpread, spreadPayments } from "./spread-payments.js";

const options = new Command()
  .option("--payments <n>", "payments stored before the reopen", "1000000")
  .option("--tracking-ids <n>", "distinct tracking IDs they are spread over", "100000")
  .option("--unsaved", "drop the saved identity table before the reopen, as a crash leaves none")
  .parse()
  .opts<{ payments: string; trackingIds: string; unsaved?: boolean }>();

/** `RssAnon` from /proc/self/status, in bytes. */
function anonymousRss(): number {
  const kib = /RssAnon:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  return Number(kib ?? 0) * 1024;
}

const total = Number(options.payments);
const payment = spreadPayments(Number(options.trackingIds));
const dir = mkdtempSync(join(tmpdir(), "first-append-"));
const path = join(dir, "payments.sqlite");
try {
  const filling = openSqliteStore({ path });
  await appendSpread(filling, payment, 0, total);
  const closing = performance.now();
  await filling.close();
  const closed = performance.now() - closing;
  if (options.unsaved) {
    const index = new Database(paymentIndexPath(path));
    index.exec("DELETE FROM identity_snapshot");
    index.close();
  }

  const store = openSqliteStore({ path });
  try {
    await store.ping();
    const before = anonymousRss();
    const timed = async (n: number) => {
      const started = performance.now();
      await store.append([payment(n)]);
      return performance.now() - started;
    };
    const first = await timed(total);
    const second = await timed(total + 1);
    const grown = (anonymousRss() - before) / 2 ** 20;
    console.log(
      `${total} payments stored, close ${closed.toFixed(0)} ms, ${options.unsaved ? "no saved identities" : "identities saved"}: first append after the reopen ${first.toFixed(1)} ms, the second ${second.toFixed(2)} ms; ` +
        `anonymous RSS +${grown.toFixed(1)} MiB`,
    );
  } finally {
    await store.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
