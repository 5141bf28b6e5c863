import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config.js";

test("defaults need no environment at all", () => {
  const config = loadConfig({});
  assert.equal(config.PORT, 8080);
  assert.equal(config.HOST, "0.0.0.0");
  assert.deepEqual(config.database, { driver: "sqlite", path: "./data/tributary.sqlite" });
  assert.deepEqual(config.TRIBUTARY_API_KEYS, []);
  assert.equal(config.MAX_SUBSCRIPTIONS_PER_SOCKET, 100);
  assert.equal(config.MAX_HTTP_BUFFER_SIZE, 16 * 1024);
});

test("values are parsed, lists split and trimmed, empty strings count as unset", () => {
  const config = loadConfig({ PORT: "9000", TRIBUTARY_API_KEYS: " a, b ,,", HOST: "", CORS_ORIGINS: "https://x.example" });
  assert.equal(config.PORT, 9000);
  assert.equal(config.HOST, "0.0.0.0");
  assert.deepEqual(config.TRIBUTARY_API_KEYS, ["a", "b"]);
  assert.deepEqual(config.CORS_ORIGINS, ["https://x.example"]);
});

test("a bad value fails with a message naming the variable", () => {
  for (const [name, value] of [
    ["PORT", "http"],
    ["PORT", "70000"],
    ["DATABASE_URL", "mysql://x"],
    ["LOG_LEVEL", "loud"],
    ["MAX_SUBSCRIPTIONS_PER_SOCKET", "0"],
  ] as const) {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (error: unknown) => error instanceof ConfigError && error.message.includes(name),
      `${name}=${value}`,
    );
  }
});

test("DATABASE_URL=postgres:// or postgresql:// selects the PostgreSQL driver with the URL as given", () => {
  for (const url of ["postgres://u:p@db.internal:5432/tributary", "postgresql://u@127.0.0.1/t?sslmode=require"]) {
    assert.deepEqual(loadConfig({ DATABASE_URL: url }).database, { driver: "postgres", url });
  }
  assert.throws(() => loadConfig({ DATABASE_URL: "postgres:" }), ConfigError);
});

test("the queue source needs REDIS_URL, and the error names it", () => {
  assert.throws(
    () => loadConfig({ INGEST_REDIS_STREAM: "payments" }),
    (error: unknown) => error instanceof ConfigError && error.message.includes("REDIS_URL") && error.message.includes("INGEST_REDIS_STREAM"),
  );
  const config = loadConfig({ INGEST_REDIS_STREAM: "payments", REDIS_URL: "redis://127.0.0.1:6379" });
  assert.equal(config.INGEST_REDIS_GROUP, "tributary-ws");
  assert.equal(config.INGEST_REDIS_MAX_DELIVERIES, 5);
  assert.equal(config.INGEST_REDIS_CLAIM_IDLE_MS, 30_000);
  assert.throws(() => loadConfig({ INGEST_REDIS_MAX_DELIVERIES: "0" }), /INGEST_REDIS_MAX_DELIVERIES/);
});

test("WORKERS runs one process by default, and more only with a store the workers share", () => {
  assert.equal(loadConfig({}).WORKERS, 1);
  assert.equal(loadConfig({ WORKERS: "3" }).WORKERS, 3);
  assert.throws(() => loadConfig({ WORKERS: "0" }), /WORKERS/);
  assert.throws(
    () => loadConfig({ WORKERS: "2", DATABASE_URL: "sqlite::memory:" }),
    (error: unknown) => error instanceof ConfigError && /WORKERS: .*sqlite::memory:/.test(error.message),
  );
  assert.equal(loadConfig({ WORKERS: "2", DATABASE_URL: "sqlite:./data/shared.sqlite" }).WORKERS, 2);
});
