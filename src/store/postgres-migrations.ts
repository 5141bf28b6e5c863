import type pg from "pg";
import { inTransaction } from "./postgres-transaction.js";

export interface PostgresMigrations {
  /** Each entry moves the schema one version up. */
  migrations: readonly string[];
  /** The table recording which versions are applied. */
  table: string;
  /** Advisory lock key: nodes starting together migrate one after the other instead of racing on CREATE TABLE. */
  lockKey: number;
  /** Names the schema in the error for a database newer than this build. */
  schema: string;
}

/** Brings a schema up to date in one transaction. */
export async function runPostgresMigrations(pool: pg.Pool, { migrations, table, lockKey, schema }: PostgresMigrations): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock($1)", [lockKey]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (
         version    INTEGER PRIMARY KEY,
         applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${table}`);
    const current = rows[0]?.version ?? 0;
    if (current > migrations.length) {
      throw new Error(`${schema} schema version ${current} is newer than this build knows (${migrations.length})`);
    }
    for (let version = current; version < migrations.length; version++) {
      await client.query(migrations[version] as string);
      await client.query(`INSERT INTO ${table} (version) VALUES ($1)`, [version + 1]);
    }
  });
}
