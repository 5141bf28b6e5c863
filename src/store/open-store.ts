import type { Config } from "../config.js";
import type { PaymentStore } from "./payment-store.js";
import { openSqliteStore } from "./sqlite-store.js";

/** Picks the store driver named by DATABASE_URL; the only place that knows the drivers. */
export function openStore(database: Config["database"]): PaymentStore {
  switch (database.driver) {
    case "sqlite":
      return openSqliteStore({ path: database.path });
  }
}
