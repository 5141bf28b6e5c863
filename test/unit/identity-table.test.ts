import assert from "node:assert/strict";
import { test } from "node:test";
import { IdentityTable, identityHash } from "../../src/store/identity-table.js";

/** A fixed sequence of pseudo-random numbers (mulberry32), so a failure can be run again. */
function numbers(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

test("identity table: every identity added is a candidate of its own lookup until removed, through growth and removals", () => {
  const random = numbers(7);
  // Starts at 16 slots, so the runs wrap around the end and the table doubles many times.
  const table = new IdentityTable(16);
  const held = new Map<string, number>();
  let seq = 0;
  for (let round = 0; round < 20_000; round++) {
    const key = `sig-${Math.floor(random() * 5_000)}`;
    const eventIndex = Math.floor(random() * 3);
    const id = `${key}:${eventIndex}`;
    const stored = held.get(id);
    if (stored === undefined) {
      table.add(key, eventIndex, ++seq);
      held.set(id, seq);
    } else if (random() < 0.7) {
      table.remove(key, eventIndex, stored);
      held.delete(id);
    }
  }
  assert.equal(table.size, held.size);
  for (const [id, stored] of held) {
    const [key = "", eventIndex = ""] = id.split(":");
    assert.ok(table.candidates(key, Number(eventIndex)).includes(stored), `${id} lost`);
  }
  // Removed identities are not candidates any more (their hash might match another's, which a 32-bit hash makes rare).
  let strays = 0;
  for (let n = 0; n < 5_000; n++) {
    for (let eventIndex = 0; eventIndex < 3; eventIndex++) {
      if (!held.has(`sig-${n}:${eventIndex}`) && table.candidates(`sig-${n}`, eventIndex).length > 0) strays += 1;
    }
  }
  assert.equal(strays, 0);
});

test("identity table: identities with one hash are all candidates, and removing one by its seq keeps the others", () => {
  const table = new IdentityTable(16);
  // A stale entry and the live one share the identity, so they share the hash.
  table.add("sig", 0, 1);
  table.add("other", 0, 2);
  table.add("sig", 0, 3);
  assert.deepEqual(table.candidates("sig", 0), [1, 3]);
  table.remove("sig", 0, 1);
  assert.deepEqual(table.candidates("sig", 0), [3]);
  assert.deepEqual(table.candidates("other", 0), [2]);
  table.remove("sig", 0, 99);
  assert.equal(table.size, 2);
});

test("identity table: the hash tells the event index apart, depends on the seed, and is never 0", () => {
  assert.notEqual(identityHash("sig", 0, 1), identityHash("sig", 1, 1));
  assert.notEqual(identityHash("sig", 0, 1), identityHash("sig", 0, 2));
  const random = numbers(11);
  for (let n = 0; n < 10_000; n++) assert.notEqual(identityHash(String(random()), n, n), 0);
});

test("identity table: a snapshot restores the same table, and bytes that do not make one are refused", () => {
  const table = new IdentityTable(16, 12345);
  for (let n = 1; n <= 100; n++) table.add(`sig-${n}`, n % 2, n);
  table.remove("sig-7", 1, 7);
  const saved = table.snapshot();
  // As a blob read back from SQLite: a copy, at an offset a typed array could not start from.
  const copy = (bytes: Uint8Array) => Buffer.concat([Buffer.from([0]), bytes]).subarray(1);
  const restored = IdentityTable.restore({ ...saved, hashes: copy(saved.hashes), seqs: copy(saved.seqs) });
  assert.ok(restored !== undefined);
  assert.equal(restored.size, 99);
  for (let n = 1; n <= 100; n++) assert.deepEqual(restored.candidates(`sig-${n}`, n % 2), n === 7 ? [] : [n]);
  restored.add("sig-101", 0, 101);
  assert.deepEqual(restored.candidates("sig-101", 0), [101]);

  assert.equal(IdentityTable.restore({ ...saved, entries: 98 }), undefined);
  assert.equal(IdentityTable.restore({ ...saved, hashes: saved.hashes.subarray(4) }), undefined);
  assert.equal(IdentityTable.restore({ ...saved, seqs: saved.seqs.subarray(8) }), undefined);
  assert.equal(IdentityTable.restore({ ...saved, hashes: new Uint8Array(0), seqs: new Uint8Array(0), entries: 0 }), undefined);
});
