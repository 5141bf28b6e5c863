/**
 * What each index of the payments table costs a unicast append, in isolation: the same table as the SQLite store,
 * rows inserted in group commits of `--group` over 2,000 tracking IDs with random signatures, with every index, or
 * without one of them, or without any. Prints CPU µs per payment and bytes written per payment for each variant.
 * The last variant commits each group to an unindexed tail table and moves the tail into the indexed table every
 * `--tail-batch` payments with `synchronous = OFF` (the tail is the durable record meanwhile), checking identities
 * against the index and an in-memory set of the tail's, with offsets from in-memory heads: the deferred index of
 * docs/decisions/payment-log.md, in SQLite alone. `--split-index` adds the split store: each group commits to
 * an unindexed payments table (`synchronous = FULL`, the durable record), then writes its identities and offsets
 * into a second, rebuildable file in WAL mode with `synchronous = OFF`, so that no index page is fsynced, and the
 * page cache absorbs an index page (or WAL page, rewritten from its start after each checkpoint) written again
 * before the kernel writes it back. `--rate` paces the appends (write_bytes counts a page when it turns dirty, so
 * only a run of minutes shows what the writeback costs), and `--preload` fills the store first, because how often
 * an index page is written again depends on how many pages the index has. The figures behind that note.
 *
 *   npx tsx bench/sqlite-index-cost.ts --payments 100000 --group 50
 *   npx tsx bench/sqlite-index-cost.ts --payments 300000 --group 50 --tail-batch 10000 --only-tail
 *   npx tsx bench/sqlite-index-cost.ts --payments 1200000 --group 50 --rate 10000 --split-index --only-split
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import bs58 from "bs58";
import { Command } from "commander";
import { sampleProcess } from "./proc-stats.js";

const options = new Command()
  .option("--payments <n>", "payments per variant", "100000")
  .option("--group <n>", "payments per group commit", "50")
  .option("--pragmas <list>", "extra pragmas, ';'-separated", "")
  .option("--tail-batch <n>", "deferred index: payments moved from the tail to the indexed table at once", "10000")
  .option("--only-tail", "run the full table and the deferred index only", false)
  .option("--split-index", "add the split store: an unindexed durable table, the indexes in a file of their own", false)
  .option("--only-split", "run the full table and the split store only", false)
  .option("--rate <n>", "payments per second, paced by group; 0 runs flat out", "0")
  .option("--preload <n>", "payments stored before the measured ones", "0")
  .option("--index-journal <mode>", "the split store's index file: its journal_mode", "WAL")
  .parse()
  .opts<{
    payments: string;
    group: string;
    pragmas: string;
    tailBatch: string;
    onlyTail: boolean;
    splitIndex: boolean;
    onlySplit: boolean;
    rate: string;
    preload: string;
    indexJournal: string;
  }>();
const total = Number(options.payments);
const group = Number(options.group);
const tailBatch = Number(options.tailBatch);
const rate = Number(options.rate);
const preload = Number(options.preload);

const INDEXES = {
  log: "CREATE UNIQUE INDEX payments_log ON payments (tracking_id, log_offset)",
  identity: "CREATE UNIQUE INDEX payments_identity ON payments (signature, event_index)",
  receivedAt: "CREATE INDEX payments_received_at ON payments (received_at)",
  identityHash: "CREATE INDEX payments_identity_hash ON payments (identity_hash)",
} as const;
type IndexName = keyof typeof INDEXES;
const VARIANTS: Array<[string, IndexName[]]> = [
  ["all three indexes (today)", ["log", "identity", "receivedAt"]],
  ["without (signature, event_index)", ["log", "receivedAt"]],
  ["without (tracking_id, log_offset)", ["identity", "receivedAt"]],
  ["without (received_at)", ["log", "identity"]],
  ["identity as a 64-bit hash", ["log", "identityHash", "receivedAt"]],
  ["no index: an append-only table", []],
  [`deferred index (tail moved every ${options.tailBatch})`, ["log", "identity", "receivedAt"]],
];
const TAIL_VARIANT = VARIANTS.length - 1;
const withSplit = options.splitIndex || options.onlySplit;
if (withSplit) VARIANTS.push(["split: durable table + index file", ["receivedAt"]]);
const SPLIT_VARIANT = withSplit ? VARIANTS.length - 1 : -1;

/** 64 bits of the signature (FNV-1a), as a signed integer SQLite stores in 8 bytes. */
function identityHash(signature: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < signature.length; i++) hash = BigInt.asUintN(64, (hash ^ BigInt(signature.charCodeAt(i))) * 0x100000001b3n);
  return BigInt.asIntN(64, hash);
}

const randomTrackingId = () => `merchant-${Math.floor(Math.random() * 97)}:order-${Math.floor(Math.random() * 2000)}`;
// The measured payments are made up front; the preloaded ones as they are stored, or millions would not fit in the heap.
const measuredSignatures = Array.from({ length: total }, () => bs58.encode(randomBytes(64)));
const measuredTrackingIds = Array.from({ length: total }, randomTrackingId);
const signatures = { at: (i: number) => (i < preload ? bs58.encode(randomBytes(64)) : measuredSignatures[i - preload]) };
const trackingIds = { at: (i: number) => (i < preload ? randomTrackingId() : measuredTrackingIds[i - preload]) };
const pause = new Int32Array(new SharedArrayBuffer(4));

/** The indexes of the split store, in a file of their own that can be rebuilt from the durable table. */
function openIndexFile(path: string) {
  const index = new Database(path);
  index.defaultSafeIntegers(false);
  // The WAL is written again from its start after each checkpoint, so its pages too are dirtied again rather than anew.
  index.pragma(`journal_mode = ${options.indexJournal}`);
  index.pragma("synchronous = OFF");
  index.exec(`CREATE TABLE identities (signature TEXT NOT NULL, event_index INTEGER NOT NULL, seq INTEGER NOT NULL,
      PRIMARY KEY (signature, event_index)) WITHOUT ROWID;
    CREATE TABLE offsets (tracking_id TEXT NOT NULL, log_offset INTEGER NOT NULL, seq INTEGER NOT NULL,
      PRIMARY KEY (tracking_id, log_offset)) WITHOUT ROWID;
    CREATE TABLE indexed (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
    INSERT INTO indexed VALUES (1, 0);`);
  const identity = index.prepare<[string, number], { seq: number }>("SELECT seq FROM identities WHERE signature = ? AND event_index = ?");
  const addIdentity = index.prepare("INSERT INTO identities VALUES (?, ?, ?)");
  const addOffset = index.prepare("INSERT INTO offsets VALUES (?, ?, ?)");
  const markIndexed = index.prepare("UPDATE indexed SET seq = ? WHERE id = 1");
  const write = index.transaction((rows: ReadonlyArray<[string, string, number, number]>) => {
    for (const [signature, trackingId, offset, seq] of rows) {
      addIdentity.run(signature, 0, seq);
      addOffset.run(trackingId, offset, seq);
    }
    const last = rows.at(-1);
    if (last !== undefined) markIndexed.run(last[3]);
  });
  return { index, identity, write };
}

for (const [variant, [label, indexes]] of VARIANTS.entries()) {
  const deferred = variant === TAIL_VARIANT;
  const split = variant === SPLIT_VARIANT;
  if (options.onlyTail && variant !== 0 && !deferred) continue;
  if (options.onlySplit && variant !== 0 && !split) continue;
  const dir = mkdtempSync(join(tmpdir(), "sqlite-index-cost-"));
  const db = new Database(join(dir, "payments.sqlite"));
  db.defaultSafeIntegers(false);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  for (const pragma of options.pragmas.split(";").filter(Boolean)) db.pragma(pragma);
  db.exec(`CREATE TABLE payments (seq INTEGER PRIMARY KEY, tracking_id TEXT NOT NULL, log_offset INTEGER NOT NULL,
    signature TEXT NOT NULL, event_index INTEGER NOT NULL, amount TEXT NOT NULL, timestamp INTEGER NOT NULL, status TEXT NOT NULL,
    payment_policy TEXT, gateway TEXT, payer TEXT, recipient TEXT, token_mint TEXT, record_id INTEGER, slot INTEGER,
    received_at INTEGER NOT NULL, identity_hash INTEGER)`);
  for (const index of indexes) db.exec(INDEXES[index]);
  if (deferred) db.exec("CREATE TABLE tail AS SELECT * FROM payments WHERE 0");
  const indexFile = split ? openIndexFile(join(dir, "index.sqlite")) : undefined;
  const splitRows: Array<[string, string, number, number]> = [];
  const insert = db.prepare(
    `INSERT INTO ${deferred ? "tail" : "payments"} (tracking_id, log_offset, signature, event_index, amount, timestamp, status, payment_policy, gateway,
       payer, recipient, token_mint, record_id, slot, received_at, identity_hash) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, NULL, NULL, ?, ?, ?)`,
  );
  // The head comes from the (tracking_id, log_offset) index, as in the store; without it offsets are made up.
  const head = indexes.includes("log")
    ? db.prepare<[string], { last_offset: number | null }>("SELECT max(log_offset) AS last_offset FROM payments WHERE tracking_id = ?")
    : undefined;
  const hashed = indexes.includes("identityHash");
  const sameHash = hashed ? db.prepare<[bigint], { signature: string }>("SELECT signature FROM payments WHERE identity_hash = ?") : undefined;
  // The deferred index's state: heads and the tail's identities in memory, the index read (never written) per append.
  const heads = new Map<string, number>();
  const tailIdentities = new Set<string>();
  const indexed = db.prepare<[string, number], { seq: number }>("SELECT seq FROM payments WHERE signature = ? AND event_index = ?");
  const columns = "tracking_id, log_offset, signature, event_index, amount, timestamp, status, slot, received_at, identity_hash";
  const moveTailRows = db.transaction(() => {
    db.exec(`INSERT INTO payments (${columns}) SELECT ${columns} FROM tail ORDER BY rowid`);
    db.exec("DELETE FROM tail");
  });
  // Unsynced: the tail stays the durable record until the next group commits.
  const moveTail = () => {
    db.pragma("synchronous = OFF");
    moveTailRows.immediate();
    db.pragma("synchronous = FULL");
    tailIdentities.clear();
  };
  const commit = db.transaction((from: number, to: number) => {
    const receivedAt = Date.now();
    for (let i = from; i < to; i++) {
      const trackingId = trackingIds.at(i) as string;
      const signature = signatures.at(i) as string;
      if (indexFile !== undefined) {
        // The writer owns the heads; a duplicate is found in the index file, which holds every committed group.
        if (indexFile.identity.get(signature, 0) !== undefined) continue;
        const offset = (heads.get(trackingId) ?? 0) + 1;
        heads.set(trackingId, offset);
        const { lastInsertRowid } = insert.run(trackingId, offset, signature, 0, "1000000", 1_760_000_000, "executed", 300_000_000, receivedAt, null);
        splitRows.push([signature, trackingId, offset, Number(lastInsertRowid)]);
        continue;
      }
      if (deferred) {
        if (tailIdentities.has(signature) || indexed.get(signature, 0) !== undefined) continue;
        tailIdentities.add(signature);
        const offset = (heads.get(trackingId) ?? 0) + 1;
        heads.set(trackingId, offset);
        insert.run(trackingId, offset, signature, 0, "1000000", 1_760_000_000, "executed", 300_000_000, receivedAt, null);
        continue;
      }
      const offset = head === undefined ? i : (head.get(trackingId)?.last_offset ?? 0) + 1;
      const hash = hashed ? identityHash(signature) : null;
      // The duplicate check a hashed index needs: a read of the (usually no) rows with the same hash.
      if (hash !== null) sameHash?.all(hash);
      insert.run(trackingId, offset, signature, 0, "1000000", 1_760_000_000, "executed", 300_000_000, receivedAt, hash);
    }
  });
  const append = (from: number, to: number) => {
    commit.immediate(from, to);
    // Only once the group is durable does it reach the index file; a crash in between is repaired from the table.
    if (indexFile !== undefined) {
      indexFile.write(splitRows);
      splitRows.length = 0;
    }
  };
  for (let i = 0; i < preload; i += 5000) append(i, Math.min(preload, i + 5000));
  if (deferred) moveTail();
  // Every page starts clean, so the measured run counts each page it dirties, preloaded or not.
  execFileSync("sync");
  const bytesBefore = sampleProcess(process.pid).writeBytes;
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  for (let i = preload; i < preload + total; i += group) {
    if (rate > 0) {
      const due = startedAt + ((i - preload) / rate) * 1000;
      const ahead = due - performance.now();
      if (ahead > 0) Atomics.wait(pause, 0, 0, ahead);
    }
    append(i, Math.min(preload + total, i + group));
    if (deferred && tailIdentities.size >= tailBatch) moveTail();
  }
  const cpu = process.cpuUsage(cpuBefore);
  const written = sampleProcess(process.pid).writeBytes - bytesBefore;
  indexFile?.index.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(`${label.padEnd(36)} ${((cpu.user + cpu.system) / total).toFixed(1).padStart(6)} µs CPU ${Math.round(written / total).toString().padStart(7)} B written per payment`);
}
