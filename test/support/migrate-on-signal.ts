/**
 * Opens the SQLite store named on the command line when its parent says "go"
 * over IPC, so that several processes migrate one fresh file at the same
 * moment, as worker processes starting together do; reports the outcome.
 */
import { openSqliteStore } from "../../src/store/sqlite-store.js";

const path = process.argv[2] ?? "";
process.once("message", async () => {
  try {
    const store = await openSqliteStore({ path });
    await store.close();
    process.send?.({ ok: true });
  } catch (error) {
    process.send?.({ ok: false, error: error instanceof Error ? error.message : String(error) });
  }
});
process.send?.({ ready: true });
