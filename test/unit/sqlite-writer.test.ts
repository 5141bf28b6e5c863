import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { inspect } from "node:util";
import { IdentityConflictError } from "../../src/store/payment-store.js";
import { openSqliteConnection } from "../../src/store/sqlite-database.js";
import { attachPaymentIndex, preparePaymentIndex } from "../../src/store/sqlite-payment-index.js";
import { openSqliteFileWriter, SqliteWriter, type CommittedRequest, type RequestResult } from "../../src/store/sqlite-writer.js";
import { paymentInput } from "../support/payments.js";

/** A writer on an in-memory store (one connection), or on a file with its index file, as the store opens them. */
function openWriter(path = ":memory:"): { writer: SqliteWriter; clockReads: () => number } {
  const db = openSqliteConnection({ path, busyTimeoutMs: 100, migrate: true, mmap: true });
  let reads = 0;
  const clock = () => 1_000 + ++reads;
  if (path === ":memory:") {
    attachPaymentIndex(db, path);
    return { writer: new SqliteWriter(db, db, clock), clockReads: () => reads };
  }
  preparePaymentIndex(db, path, 100);
  db.close();
  return { writer: openSqliteFileWriter(path, 100, clock), clockReads: () => reads };
}

function committed(result: RequestResult | undefined): CommittedRequest {
  assert.ok(result !== undefined && !("error" in result), `expected a committed request, got ${inspect(result)}`);
  return result;
}

test("sqlite writer: a group whose requests all succeed is committed in one pass", () => {
  const { writer, clockReads } = openWriter();
  const results = writer.commit([[paymentInput("t")], [paymentInput("t"), paymentInput("u")], [paymentInput("t")]]);
  assert.deepEqual(results.map((result) => committed(result).offsets), [[1], [2, 1], [3]]);
  // The clock is read once per pass over the group: a second read would mean the group ran again.
  assert.equal(clockReads(), 1);
});

test("sqlite writer: a failing request rolls back alone and the rest of its group commits", () => {
  const { writer, clockReads } = openWriter();
  const first = paymentInput("t");
  writer.commit([[first]]);
  const rolledBack = paymentInput("t");
  const results = writer.commit([
    [paymentInput("t")],
    // A new payment, then a conflicting re-publish: neither may be stored.
    [rolledBack, { ...first, amount: first.amount + 1n }],
    [paymentInput("t"), first],
  ]);
  assert.deepEqual(committed(results[0]).offsets, [2]);
  const failed = results[1];
  assert.ok(failed !== undefined && "error" in failed && failed.error instanceof IdentityConflictError);
  const last = committed(results[2]);
  assert.deepEqual(last.offsets, [3, 1]);
  assert.equal(last.duplicates[0]?.[0], 1);
  assert.equal(committed(results[0]).receivedAt, last.receivedAt);
  // The first pass stopped at the conflict and was rolled back; the second ran each request in a savepoint.
  assert.equal(clockReads(), 3);
  const next = writer.commit([[paymentInput("t")]]);
  assert.deepEqual(committed(next[0]).offsets, [4]);
  // Both passes saw the rolled-back payment's identity; neither stored it, so it is new now.
  const again = committed(writer.commit([[rolledBack]])[0]);
  assert.deepEqual([again.offsets, again.duplicates], [[5], []]);
});

test("sqlite writer: a duplicate takes no offset, so the tracking ID's next payment follows the stored head", () => {
  const { writer } = openWriter();
  const first = paymentInput("t");
  writer.commit([[first]]);
  const [result] = writer.commit([[first, paymentInput("t")]]);
  assert.deepEqual(committed(result).offsets, [1, 2]);
  assert.deepEqual(committed(writer.commit([[paymentInput("t")]])[0]).offsets, [3]);
});

test("sqlite writer: heads it remembers give way to another connection's appends to the same file", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tributary-writer-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "payments.sqlite");
  const one = openWriter(path);
  const other = openWriter(path);
  assert.deepEqual(committed(one.writer.commit([[paymentInput("t")]])[0]).offsets, [1]);
  assert.deepEqual(committed(other.writer.commit([[paymentInput("t"), paymentInput("t")]])[0]).offsets, [2, 3]);
  const before = one.clockReads();
  assert.deepEqual(committed(one.writer.commit([[paymentInput("t")]])[0]).offsets, [4]);
  // One pass: the head came from the file, not from a remembered 1 that would have collided with offset 2.
  assert.equal(one.clockReads(), before + 1);
});

test("sqlite writer: a duplicate is found whoever stored the first: before the writer started, another connection, or this one", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tributary-writer-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "payments.sqlite");
  const early = paymentInput("t");
  const first = openWriter(path);
  first.writer.commit([[early]]);
  first.writer.close();
  const one = openWriter(path);
  const other = openWriter(path);
  const before = committed(one.writer.commit([[early]])[0]);
  assert.deepEqual([before.offsets, before.duplicates[0]?.[1].signature], [[1], early.signature]);
  // Committed after `one` read the file's identities: `one` learns of it under the write lock of its next group.
  const fromOther = paymentInput("u");
  committed(other.writer.commit([[fromOther]])[0]);
  const mine = paymentInput("t");
  const [result, repeated] = one.writer.commit([[fromOther, mine, paymentInput("t")], [mine]]);
  assert.deepEqual(committed(result).offsets, [1, 2, 3]);
  assert.deepEqual(committed(result).duplicates.map(([index, stored]) => [index, stored.signature]), [[0, fromOther.signature]]);
  assert.deepEqual(committed(repeated).offsets, [2]);
  const repeat = committed(other.writer.commit([[mine]])[0]);
  assert.deepEqual([repeat.offsets, repeat.duplicates.length], [[2], 1]);
});

test("sqlite writer: a payment whose row was deleted by hand is stored again as new", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tributary-writer-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "payments.sqlite");
  const { writer } = openWriter(path);
  const gone = paymentInput("t");
  writer.commit([[gone, paymentInput("t")]]);
  const db = openSqliteConnection({ path, busyTimeoutMs: 100, migrate: false, mmap: false });
  try {
    db.prepare("DELETE FROM payments WHERE signature = ?").run(gone.signature);
  } finally {
    db.close();
  }
  const again = committed(writer.commit([[gone]])[0]);
  assert.deepEqual([again.offsets, again.duplicates], [[3], []]);
  // Its identity is held once more, by the new row.
  assert.equal(committed(writer.commit([[gone]])[0]).duplicates[0]?.[1].offset, 3);
});
