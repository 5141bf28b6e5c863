import type { Config } from "../config.js";
import type { PaymentStore } from "./payment-store.js";
import { openPostgresStore } from "./postgres-store.js";
import { openSqliteStore } from "./sqlite-store.js";

/** Picks the store driver named by DATABASE_URL; the only place that knows the drivers. */
export async function openStore(database: Config["database"]): Promise<PaymentStore> {
  switch (database.driver) {
    case "sqlite":
      return openSqliteStore({ path: database.path });
    case "postgres":
      return openPostgresStore({ url: database.url });
  }
}
