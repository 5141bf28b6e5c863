import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openSqliteStore } from "../../src/store/sqlite-store.js";
import { randomSignature } from "../support/payments.js";
import { storeContract } from "../support/store-contract.js";

const dir = mkdtempSync(join(tmpdir(), "tributary-sqlite-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

storeContract("sqlite", async () => openSqliteStore({ path: join(dir, `contract-${++files}.sqlite`) }));

test("sqlite: a reopened file keeps payments, heads and checkpoints", async () => {
  const path = join(dir, "reopen.sqlite");
  const first = openSqliteStore({ path });
  const signature = randomSignature();
  await first.append([{ trackingId: "t", amount: 1n, timestamp: 1, status: "executed", signature, eventIndex: 0 }]);
  await first.writeCheckpoint("source", "x");
  await first.close();
  const second = openSqliteStore({ path });
  assert.equal(await second.latestOffset("t"), 1);
  assert.equal(await second.readCheckpoint("source"), "x");
  const [again] = await second.append([{ trackingId: "t", amount: 1n, timestamp: 1, status: "executed", signature, eventIndex: 0 }]);
  assert.equal(again?.duplicate, true);
  await second.close();
});
