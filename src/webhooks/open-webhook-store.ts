import type { Config } from "../config.js";
import { openPostgresWebhookStore } from "./postgres-webhook-store.js";
import { openSqliteWebhookStore } from "./sqlite-webhook-store.js";
import type { WebhookStore } from "./webhook-store.js";

/** Webhook state lives with the payments it is derived from: beside the SQLite file, or in the same PostgreSQL database. */
export async function openWebhookStore(database: Config["database"]): Promise<WebhookStore> {
  switch (database.driver) {
    case "sqlite":
      return openSqliteWebhookStore({ paymentsPath: database.path });
    case "postgres":
      return openPostgresWebhookStore({ url: database.url });
  }
}
