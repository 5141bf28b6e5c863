/**
 * What the offset index, (tracking ID, offset) → seq, would cost written in sorted runs instead of the B-tree it is
 * today, in real traffic's shape: many tracking IDs, a few payments each, over an index already large. Both variants
 * live in a file like the store's index file (WAL, `synchronous = OFF`) and take each payment's offset from the
 * index (behind a cache of 100,000 heads, as the writer keeps), flat out, in groups of `--group`:
 *
 * - `btree`: today's `payment_log`, one transaction per group, one random leaf per payment.
 * - `runs`: entries gather in memory until `--run-entries` of them are written at once, sorted, as a run (a range
 *   of one table keyed by run first, so a run is written in order); `--fanout` runs of one size are merged into one
 *   of the next size. Each run has a Bloom filter in memory, so a tracking ID no run holds reads nothing. This is
 *   the index half of the append-only log proposal (docs/decisions/payment-log.md); what would keep the entries not
 *   yet in a run readable by other connections is not modelled, nor the durable record each group still commits.
 *
 * Prints CPU µs and bytes written per payment, and what a head read and a page of one tracking ID's entries cost
 * afterwards. Then it reads the same heads as a subscribe does: from another connection (not mapped), one statement,
 * steady and each right after a commit of the writer's connection (SQLite then drops the reader's page cache). The
 * runs' filters are stored beside them and loaded by the reader; a run listed after it loaded them (a merge's new run)
 * is read without its filter, so a stale copy costs seeks but never hides an entry (`--reader` picks where the filter
 * is checked). Both variants must agree on every offset and every read; the bench fails if they do not.
 *
 *   npx tsx bench/sorted-runs-index.ts --preload 1000000 --payments 200000 --tracking-ids 1000000
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Command } from "commander";
import { MMAP_BYTES } from "../src/store/sqlite-database.js";
import { MAX_REMEMBERED_HEADS } from "../src/store/sqlite-offset-heads.js";
import { INDEX_CACHE_KIB } from "../src/store/sqlite-payment-index.js";
import { sampleProcess } from "./proc-stats.js";

const options = new Command()
  .option("--payments <n>", "measured payments per variant", "200000")
  .option("--preload <n>", "payments indexed before the measured ones", "1000000")
  .option("--tracking-ids <n>", "distinct tracking IDs the payments are drawn from, uniformly", "1000000")
  .option("--group <n>", "payments per group", "50")
  .option("--run-entries <n>", "runs: entries written together as the smallest run", "8192")
  .option("--fanout <n>", "runs: runs of one size merged into one of the next", "8")
  .option("--reads <n>", "head reads and page reads timed after the writes", "20000")
  .option("--variants <list>", "btree,runs", "btree,runs")
  .option("--seed <n>", "seed of the tracking IDs drawn", "1")
  .option(
    "--reader <how>",
    "runs, read from another connection: bound (filters checked in JavaScript, one statement per candidate run), " +
      "function (a SQL function checks each listed run's filter) or table-function (a table-valued function lists the candidates)",
    "bound",
  )
  .option("--out <file>", "JSON report")
  .parse()
  .opts<{
    payments: string;
    preload: string;
    trackingIds: string;
    group: string;
    runEntries: string;
    fanout: string;
    reads: string;
    variants: string;
    seed: string;
    reader: string;
    out?: string;
  }>();
const total = Number(options.payments);
const preload = Number(options.preload);
const trackingIdCount = Number(options.trackingIds);
const group = Number(options.group);
const runEntries = Number(options.runEntries);
const fanout = Number(options.fanout);
const reads = Number(options.reads);
const PAGE = 100;

/** A seeded generator, so that both variants see the same tracking IDs in the same order. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const trackingIdOf = (n: number) => `merchant-${n % 97}:order-${Math.floor(n / 97)}`;

interface OffsetIndex {
  readonly name: string;
  /** The newest offset of a tracking ID, 0 for none. */
  head(trackingId: string): number;
  add(trackingId: string, offset: number, seq: number): void;
  endGroup(): void;
  page(trackingId: string, after: number): Array<[number, number]>;
  runs(): number;
  /** Writes out whatever only this connection holds, so that another connection reads every entry. */
  writeOut(): void;
  /** Commits a change that touches no entry: another connection's next read then starts with an empty page cache. */
  touch(): void;
  /** A head read on another connection to the file, one statement, as the event loop's subscribes read. */
  headReaderOn(reader: Database.Database): (trackingId: string) => number;
  close(): void;
}

function openFile(dir: string): Database.Database {
  const db = new Database(join(dir, "index.sqlite"));
  db.defaultSafeIntegers(false);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  // As the writer's index connection reads it (sqlite-payment-index.ts).
  db.pragma(`mmap_size = ${MMAP_BYTES}`);
  db.pragma(`cache_size = -${INDEX_CACHE_KIB}`);
  db.exec(`CREATE TABLE scratch (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
    INSERT INTO scratch VALUES (1, 0);`);
  return db;
}

/** Commits a change to `scratch` on `db`: {@link OffsetIndex.touch}. */
function toucher(db: Database.Database): () => void {
  const touch = db.prepare("UPDATE scratch SET n = n + 1 WHERE id = 1");
  return () => {
    touch.run();
  };
}

/** Today's shape: one B-tree keyed by (tracking_id, log_offset), a transaction per group. */
function btreeIndex(dir: string): OffsetIndex {
  const db = openFile(dir);
  db.exec(`CREATE TABLE payment_log (tracking_id TEXT NOT NULL, log_offset INTEGER NOT NULL, seq INTEGER NOT NULL,
      PRIMARY KEY (tracking_id, log_offset)) WITHOUT ROWID;
    CREATE TABLE index_state (id INTEGER PRIMARY KEY CHECK (id = 1), indexed_seq INTEGER NOT NULL);
    INSERT INTO index_state VALUES (1, 0);`);
  const headSql = "SELECT max(log_offset) FROM payment_log WHERE tracking_id = ?";
  const head = db.prepare<[string], number | null>(headSql).pluck();
  const insert = db.prepare("INSERT INTO payment_log VALUES (?, ?, ?)");
  const mark = db.prepare("UPDATE index_state SET indexed_seq = ? WHERE id = 1");
  const page = db
    .prepare<[string, number], [number, number]>(
      `SELECT log_offset, seq FROM payment_log WHERE tracking_id = ? AND log_offset > ? ORDER BY log_offset LIMIT ${PAGE}`,
    )
    .raw();
  let lastSeq = 0;
  let open = false;
  return {
    name: "btree",
    head: (trackingId) => head.get(trackingId) ?? 0,
    add(trackingId, offset, seq) {
      if (!open) db.exec("BEGIN");
      open = true;
      insert.run(trackingId, offset, seq);
      lastSeq = seq;
    },
    endGroup() {
      if (!open) return;
      mark.run(lastSeq);
      db.exec("COMMIT");
      open = false;
    },
    page: (trackingId, after) => page.all(trackingId, after),
    runs: () => 1,
    writeOut: () => db.pragma("wal_checkpoint(TRUNCATE)"),
    touch: toucher(db),
    headReaderOn(reader) {
      const read = reader.prepare<[string], number | null>(headSql).pluck();
      return (trackingId) => read.get(trackingId) ?? 0;
    },
    close: () => db.close(),
  };
}

/** Two 32-bit FNV-1a hashes of a string, the second odd: the probes of every run's filter. */
function hashPair(text: string): [number, number] {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return [h1 >>> 0, (h2 | 1) >>> 0];
}

/** A Bloom filter of about 10 bits and 7 probes per tracking ID: about 1 % false positives. */
class BloomFilter {
  private readonly mask: number;
  private constructor(private readonly bits: Uint32Array) {
    this.mask = bits.length * 32 - 1;
  }
  static forKeys(keys: number): BloomFilter {
    return new BloomFilter(new Uint32Array(2 ** Math.ceil(Math.log2(Math.max(64, keys * 10))) / 32));
  }
  /** A filter from its {@link toBytes}. */
  static fromBytes(bytes: Uint8Array): BloomFilter {
    const bits = new Uint32Array(bytes.byteLength / 4);
    // Copied: a blob's bytes need not sit where a Uint32Array may start.
    new Uint8Array(bits.buffer).set(bytes);
    return new BloomFilter(bits);
  }
  add([h1, h2]: [number, number]): void {
    for (let i = 0; i < 7; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
  }
  mayHave([h1, h2]: [number, number]): boolean {
    for (let i = 0; i < 7; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      if ((this.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
  /** The filter as stored beside its run. */
  toBytes(): Buffer {
    return Buffer.from(this.bits.buffer, this.bits.byteOffset, this.bits.byteLength);
  }
}

interface Run {
  id: number;
  level: number;
  filter: BloomFilter;
}

/** Sorted runs: a memory table written out in key order, runs merged by size (a tiered LSM tree in one SQLite table). */
function runsIndex(dir: string): OffsetIndex {
  const db = openFile(dir);
  db.exec(`CREATE TABLE log_run (run INTEGER NOT NULL, tracking_id TEXT NOT NULL, log_offset INTEGER NOT NULL,
      seq INTEGER NOT NULL, PRIMARY KEY (run, tracking_id, log_offset)) WITHOUT ROWID;
    CREATE TABLE run_list (run INTEGER PRIMARY KEY);
    CREATE TABLE run_filter (run INTEGER PRIMARY KEY, filter BLOB NOT NULL);`);
  // The list apart from the filters: a reader scans the list on every read, and a filter's blob fills pages.
  const addToList = db.prepare("INSERT INTO run_list (run) VALUES (?)");
  const addFilter = db.prepare("INSERT INTO run_filter (run, filter) VALUES (?, ?)");
  const listRun = (run: number, filter: BloomFilter) => {
    addToList.run(run);
    addFilter.run(run, filter.toBytes());
  };
  const head = db.prepare<[number, string], number | null>("SELECT max(log_offset) FROM log_run WHERE run = ? AND tracking_id = ?").pluck();
  const insert = db.prepare("INSERT INTO log_run VALUES (?, ?, ?, ?)");
  const page = db
    .prepare<[number, string, number], [number, number]>(
      `SELECT log_offset, seq FROM log_run WHERE run = ? AND tracking_id = ? AND log_offset > ? ORDER BY log_offset LIMIT ${PAGE}`,
    )
    .raw();
  const trackingIdsOf = db.prepare<[number], string>("SELECT DISTINCT tracking_id FROM log_run WHERE run = ?").pluck();
  const memory = new Map<string, Array<[number, number]>>();
  let inMemory = 0;
  /** Oldest first: a tracking ID's newer entries are in later runs. */
  const runs: Run[] = [];
  let nextRun = 1;

  const write = db.transaction(() => {
    const id = nextRun++;
    const filter = BloomFilter.forKeys(memory.size);
    for (const trackingId of [...memory.keys()].sort()) {
      filter.add(hashPair(trackingId));
      for (const [offset, seq] of memory.get(trackingId)!) insert.run(id, trackingId, offset, seq);
    }
    listRun(id, filter);
    runs.push({ id, level: 0, filter });
  });
  const merge = db.transaction((sources: Run[], level: number): Run => {
    const id = nextRun++;
    const list = sources.map((run) => run.id).join(",");
    db.prepare(
      `INSERT INTO log_run SELECT ${id}, tracking_id, log_offset, seq FROM log_run WHERE run IN (${list}) ORDER BY tracking_id, log_offset`,
    ).run();
    db.prepare(`DELETE FROM log_run WHERE run IN (${list})`).run();
    db.prepare(`DELETE FROM run_list WHERE run IN (${list})`).run();
    db.prepare(`DELETE FROM run_filter WHERE run IN (${list})`).run();
    const trackingIds = trackingIdsOf.all(id);
    const filter = BloomFilter.forKeys(trackingIds.length);
    for (const trackingId of trackingIds) filter.add(hashPair(trackingId));
    listRun(id, filter);
    return { id, level, filter };
  });
  const compact = () => {
    for (let level = 0; ; level++) {
      const first = runs.findIndex((run) => run.level === level);
      if (first < 0) return;
      const same = runs.slice(first).filter((run) => run.level === level);
      if (same.length < fanout) return;
      // Runs of one level are consecutive in time, so the merged run keeps its place in the order.
      runs.splice(first, fanout, merge(same.slice(0, fanout), level + 1));
    }
  };
  const flush = () => {
    write();
    memory.clear();
    inMemory = 0;
    compact();
  };
  const newestInRuns = (trackingId: string): number => {
    const hashes = hashPair(trackingId);
    for (let i = runs.length - 1; i >= 0; i--) {
      const run = runs[i]!;
      if (!run.filter.mayHave(hashes)) continue;
      const offset = head.get(run.id, trackingId);
      if (offset !== null && offset !== undefined) return offset;
    }
    return 0;
  };
  return {
    name: "runs",
    head(trackingId) {
      const entries = memory.get(trackingId);
      return entries === undefined ? newestInRuns(trackingId) : entries[entries.length - 1]![0];
    },
    add(trackingId, offset, seq) {
      const entries = memory.get(trackingId);
      if (entries === undefined) memory.set(trackingId, [[offset, seq]]);
      else entries.push([offset, seq]);
      if (++inMemory >= runEntries) flush();
    },
    endGroup() {},
    page(trackingId, after) {
      const hashes = hashPair(trackingId);
      const found: Array<[number, number]> = [];
      for (const run of runs) {
        if (found.length >= PAGE) break;
        if (run.filter.mayHave(hashes)) found.push(...page.all(run.id, trackingId, after));
      }
      for (const entry of memory.get(trackingId) ?? []) if (entry[0] > after) found.push(entry);
      return found.slice(0, PAGE);
    },
    runs: () => runs.length,
    writeOut() {
      if (inMemory > 0) flush();
      // A merge is one transaction here, thousands of frames, where the store would merge in bounded steps;
      // a reader's page lookups slow down with the log's length, so it starts over before the reads.
      db.pragma("wal_checkpoint(TRUNCATE)");
    },
    touch: toucher(db),
    headReaderOn(reader) {
      // The reader's own copy of the filters, loaded once. Runs listed after it was loaded (a merge's
      // new run, a newer run) are read without their filter, so a stale copy costs seeks, never entries.
      const filters = new Map<number, BloomFilter>();
      let known = 0;
      for (const [run, bytes] of reader.prepare<[], [number, Uint8Array]>("SELECT run, filter FROM run_filter").raw().iterate()) {
        filters.set(run, BloomFilter.fromBytes(bytes));
        known = Math.max(known, run);
      }
      if (options.reader === "table-function") {
        reader.table("runs_that_may_hold", {
          columns: ["run"],
          parameters: ["tracking_id"],
          *rows(trackingId: unknown) {
            const hashes = hashPair(String(trackingId));
            for (const [run, filter] of filters) if (filter.mayHave(hashes)) yield [run];
          },
        });
        const read = reader
          .prepare<[{ trackingId: string; known: number }], number | null>(
            `SELECT max(log_offset) FROM log_run WHERE tracking_id = @trackingId
               AND run IN (SELECT run FROM runs_that_may_hold(@trackingId) UNION ALL SELECT run FROM run_list WHERE run > @known)`,
          )
          .pluck();
        return (trackingId) => read.get({ trackingId, known }) ?? 0;
      }
      if (options.reader === "function") {
        let hashes: [number, number] = [0, 0];
        let current = "";
        reader.function("run_may_hold", (run: unknown, trackingId: unknown) => {
          if (trackingId !== current) {
            current = String(trackingId);
            hashes = hashPair(current);
          }
          const filter = filters.get(Number(run));
          return filter === undefined || filter.mayHave(hashes) ? 1 : 0;
        });
        const read = reader
          .prepare<[{ trackingId: string }], number | null>(
            `SELECT max(log_offset) FROM log_run WHERE tracking_id = @trackingId
               AND run IN (SELECT run FROM run_list WHERE run_may_hold(run, @trackingId))`,
          )
          .pluck();
        return (trackingId) => read.get({ trackingId }) ?? 0;
      }
      const read = reader
        .prepare<[{ trackingId: string; run: number; known: number }], number | null>(
          "SELECT max(log_offset) FROM log_run WHERE tracking_id = @trackingId AND (run = @run OR run > @known)",
        )
        .pluck();
      const newestFirst = [...filters].sort((x, y) => y[0] - x[0]);
      return (trackingId) => {
        const hashes = hashPair(trackingId);
        // The newest run that holds the tracking ID holds its head; a false positive costs one more statement.
        for (const [run, filter] of newestFirst) {
          if (!filter.mayHave(hashes)) continue;
          const offset = read.get({ trackingId, run, known });
          if (offset !== null && offset !== undefined) return offset;
        }
        return read.get({ trackingId, run: -1, known }) ?? 0;
      };
    },
    close: () => db.close(),
  };
}

/** A running digest of numbers, to tell whether two variants saw the same offsets and read the same entries. */
class Digest {
  private value = 0;
  add(n: number): void {
    this.value = (Math.imul(this.value, 31) + n) | 0;
  }
  get hex(): string {
    return (this.value >>> 0).toString(16);
  }
}

function measure(variant: OffsetIndex, dir: string) {
  const random = generator(Number(options.seed));
  const heads = new Map<string, number>();
  const offsets = new Digest();
  const readTrackingIds: string[] = [];
  let seq = 0;
  const append = (count: number) => {
    for (let i = 0; i < count; i++) {
      const trackingId = trackingIdOf(Math.floor(random() * trackingIdCount));
      let last = heads.get(trackingId);
      if (last === undefined) {
        // As the writer: past this many heads remembered, all are dropped and read from the file again.
        if (heads.size >= MAX_REMEMBERED_HEADS) heads.clear();
        last = variant.head(trackingId);
      }
      const offset = last + 1;
      heads.set(trackingId, offset);
      variant.add(trackingId, offset, ++seq);
      offsets.add(offset);
      if (seq > preload && readTrackingIds.length < reads && random() < (2 * reads) / total) readTrackingIds.push(trackingId);
    }
    variant.endGroup();
  };
  for (let done = 0; done < preload; done += group) append(Math.min(group, preload - done));
  // Every page starts clean, so the measured payments count each page they dirty.
  execFileSync("sync");
  const bytesBefore = sampleProcess(process.pid).writeBytes;
  const cpuBefore = process.cpuUsage();
  for (let done = 0; done < total; done += group) append(Math.min(group, total - done));
  const cpu = process.cpuUsage(cpuBefore);
  const written = sampleProcess(process.pid).writeBytes - bytesBefore;

  const readDigest = new Digest();
  let startedAt = performance.now();
  for (const trackingId of readTrackingIds) readDigest.add(variant.head(trackingId));
  const headMicros = ((performance.now() - startedAt) * 1000) / readTrackingIds.length;
  startedAt = performance.now();
  for (const trackingId of readTrackingIds) for (const [offset, entrySeq] of variant.page(trackingId, 0)) readDigest.add(offset * 31 + entrySeq);
  const pageMicros = ((performance.now() - startedAt) * 1000) / readTrackingIds.length;

  // The same heads read as the event loop reads them: another connection, one statement, not mapped.
  variant.writeOut();
  const reader = new Database(join(dir, "index.sqlite"));
  let otherHeadMicros: number;
  let otherHeadAfterCommitMicros: number;
  const otherDigest = new Digest();
  try {
    const readHead = variant.headReaderOn(reader);
    startedAt = performance.now();
    for (const trackingId of readTrackingIds) otherDigest.add(readHead(trackingId));
    otherHeadMicros = ((performance.now() - startedAt) * 1000) / readTrackingIds.length;
    // Each read right after the writer's commit, as while payments flow: SQLite drops the reader's page cache.
    let reading = 0;
    for (const trackingId of readTrackingIds) {
      variant.touch();
      const readStarted = performance.now();
      otherDigest.add(readHead(trackingId));
      reading += performance.now() - readStarted;
    }
    otherHeadAfterCommitMicros = (reading * 1000) / readTrackingIds.length;
  } finally {
    reader.close();
  }
  return {
    variant: variant.name,
    cpuMicrosPerPayment: (cpu.user + cpu.system) / total,
    bytesWrittenPerPayment: written / total,
    runsAtEnd: variant.runs(),
    headReadMicros: headMicros,
    pageReadMicros: pageMicros,
    otherConnectionHeadReadMicros: otherHeadMicros,
    otherConnectionHeadReadAfterCommitMicros: otherHeadAfterCommitMicros,
    reads: readTrackingIds.length,
    offsetsDigest: offsets.hex,
    readsDigest: readDigest.hex,
    otherConnectionDigest: otherDigest.hex,
  };
}

const results: Array<ReturnType<typeof measure> & { variant: string }> = [];
for (const name of options.variants.split(",")) {
  const dir = mkdtempSync(join(tmpdir(), "sorted-runs-index-"));
  const variant = name === "btree" ? btreeIndex(dir) : name === "runs" ? runsIndex(dir) : undefined;
  if (variant === undefined) throw new Error(`unknown variant ${name}`);
  try {
    const result = measure(variant, dir);
    results.push(result);
    console.log(
      `${name.padEnd(6)} ${result.cpuMicrosPerPayment.toFixed(1).padStart(6)} µs CPU and ${Math.round(result.bytesWrittenPerPayment)
        .toString()
        .padStart(5)} B written per payment, ${result.runsAtEnd} run(s); then a head read ${result.headReadMicros.toFixed(1)} µs, ` +
        `a page of a tracking ID's entries ${result.pageReadMicros.toFixed(1)} µs; on another connection a head read ` +
        `${result.otherConnectionHeadReadMicros.toFixed(1)} µs, right after a commit ${result.otherConnectionHeadReadAfterCommitMicros.toFixed(1)} µs ` +
        `(${result.reads} each; digests ${result.offsetsDigest} ${result.readsDigest} ${result.otherConnectionDigest})`,
    );
  } finally {
    variant.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
const report = { preload, payments: total, trackingIds: trackingIdCount, group, runEntries, fanout, results };
if (options.out !== undefined) writeFileSync(options.out, JSON.stringify(report, null, 2));
const first = results[0];
const disagree = (r: (typeof results)[number]) =>
  first !== undefined &&
  (r.offsetsDigest !== first.offsetsDigest || r.readsDigest !== first.readsDigest || r.otherConnectionDigest !== first.otherConnectionDigest);
if (results.some(disagree)) {
  console.error("the variants disagree on the offsets or the reads");
  process.exitCode = 1;
}
