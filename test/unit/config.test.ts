import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig, MIN_API_KEY_LENGTH } from "../../src/config.js";

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
  const a = "a".repeat(16);
  const b = "b".repeat(20);
  const config = loadConfig({ PORT: "9000", TRIBUTARY_API_KEYS: ` ${a}, ${b} ,,`, HOST: "", CORS_ORIGINS: "https://x.example" });
  assert.equal(config.PORT, 9000);
  assert.equal(config.HOST, "0.0.0.0");
  assert.deepEqual(config.TRIBUTARY_API_KEYS, [a, b]);
  assert.deepEqual(config.CORS_ORIGINS, ["https://x.example"]);
});

test("a bad value fails with a message naming the variable", () => {
  for (const [name, value] of [
    ["PORT", "http"],
    ["PORT", "70000"],
    ["DATABASE_URL", "mysql://x"],
    ["LOG_LEVEL", "loud"],
    ["MAX_SUBSCRIPTIONS_PER_SOCKET", "0"],
    ["IPV6_PREFIX_LENGTH", "129"],
    ["MAX_JSON_DEPTH", "2"],
    ["REQUEST_TIMEOUT_MS", "10"],
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

test("an API key shorter than the minimum stops the start, naming the variable and the length", () => {
  assert.throws(
    () => loadConfig({ TRIBUTARY_API_KEYS: `${"k".repeat(MIN_API_KEY_LENGTH)},short` }),
    (error: unknown) =>
      error instanceof ConfigError && error.message.includes("TRIBUTARY_API_KEYS") && error.message.includes(`${MIN_API_KEY_LENGTH} characters`),
  );
  assert.deepEqual(loadConfig({ TRIBUTARY_API_KEYS: "k".repeat(MIN_API_KEY_LENGTH) }).TRIBUTARY_API_KEYS, ["k".repeat(MIN_API_KEY_LENGTH)]);
});

test("SUBSCRIBE_JWKS_URL must not be plain http, except to loopback", () => {
  const jwt = { SUBSCRIBE_AUTH: "jwt", SUBSCRIBE_JWT_AUDIENCE: "tributary" };
  assert.throws(() => loadConfig({ ...jwt, SUBSCRIBE_JWKS_URL: "http://keys.example/jwks.json" }), /SUBSCRIBE_JWKS_URL: must be an https:\/\/ URL/);
  assert.equal(loadConfig({ ...jwt, SUBSCRIBE_JWKS_URL: "https://keys.example/jwks.json" }).SUBSCRIBE_JWKS_URL, "https://keys.example/jwks.json");
  assert.equal(loadConfig({ ...jwt, SUBSCRIBE_JWKS_URL: "./keys/jwks.json" }).SUBSCRIBE_JWKS_URL, "./keys/jwks.json");
  // A key sidecar on this host: nobody is on the way.
  assert.ok(loadConfig({ ...jwt, SUBSCRIBE_JWKS_URL: "http://127.0.0.1:9000/jwks.json" }).SUBSCRIBE_JWKS_URL);
  assert.ok(loadConfig({ ...jwt, SUBSCRIBE_JWKS_URL: "http://[::1]:9000/jwks.json" }).SUBSCRIBE_JWKS_URL);
  assert.throws(() => loadConfig({ ...jwt, SUBSCRIBE_JWKS_URL: "http://127.0.0.1.example/jwks.json" }), /SUBSCRIBE_JWKS_URL/);
});

test("per-address limits default well below the node's, and the TCP cap above the Socket.IO one", () => {
  const config = loadConfig({});
  assert.ok(config.MAX_SUBSCRIPTIONS_PER_IP * 10 <= config.MAX_SUBSCRIPTIONS_PER_NODE);
  assert.ok(config.MAX_CONNECTIONS_PER_IP * config.MAX_SUBSCRIPTIONS_PER_SOCKET > config.MAX_SUBSCRIPTIONS_PER_IP, "the address cap binds first");
  assert.ok(config.MAX_HTTP_CONNECTIONS_PER_IP > config.MAX_CONNECTIONS_PER_IP);
  assert.equal(config.IPV6_PREFIX_LENGTH, 64);
  assert.throws(() => loadConfig({ MAX_CONNECTIONS_PER_IP: "2000" }), /MAX_HTTP_CONNECTIONS_PER_IP: must be above MAX_CONNECTIONS_PER_IP/);
});
