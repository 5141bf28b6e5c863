import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { openSqliteStore } from "../../src/store/sqlite-store.js";
import { openSqliteWebhookStore } from "../../src/webhooks/sqlite-webhook-store.js";
import { webhookStoreContract } from "../support/webhook-store-contract.js";

const dir = mkdtempSync(join(tmpdir(), "tributary-webhook-store-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

webhookStoreContract("sqlite", async () => {
  const path = join(dir, `store-${++files}.sqlite`);
  const payments = openSqliteStore({ path });
  return { payments, webhooks: openSqliteWebhookStore({ paymentsPath: path }) };
});
