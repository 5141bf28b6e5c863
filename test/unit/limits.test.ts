import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config.js";
import { ClientAddressResolver } from "../../src/limits/client-address.js";
import { ConnectionLimiter } from "../../src/limits/connection-limiter.js";
import { KeyedRateLimiter, TokenBucket } from "../../src/limits/token-bucket.js";

test("a token bucket serves its burst, then refills at its rate", () => {
  const bucket = new TokenBucket(3, 2, 0);
  assert.deepEqual([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)], [true, true, true, false]);
  assert.equal(bucket.take(400), false, "0.8 of a token after 400 ms");
  assert.equal(bucket.take(500), true, "one token after 500 ms at 2 per second");
  assert.equal(bucket.isFull(10_000), true);
});

test("keyed buckets are independent and full ones are swept away", () => {
  const limiter = new KeyedRateLimiter(1, 1, 1000, 0);
  assert.equal(limiter.take("a", 0), true);
  assert.equal(limiter.take("a", 0), false);
  assert.equal(limiter.take("b", 0), true);
  assert.equal(limiter.size, 2);
  limiter.take("c", 5000);
  assert.equal(limiter.size, 1, "a and b had refilled and were forgotten");
});

test("X-Forwarded-For is believed from trusted proxies only, read right to left", () => {
  const resolver = new ClientAddressResolver(["10.0.0.0/8", "::1"]);
  assert.equal(resolver.resolve("203.0.113.9", "1.2.3.4"), "203.0.113.9", "an untrusted peer names no one");
  assert.equal(resolver.resolve("10.1.2.3", "1.2.3.4"), "1.2.3.4");
  assert.equal(resolver.resolve("::ffff:10.1.2.3", "6.6.6.6, 1.2.3.4, 10.9.9.9"), "1.2.3.4", "trusted hops are skipped");
  assert.equal(resolver.resolve("10.1.2.3", "not-an-ip, 1.2.3.4"), "1.2.3.4");
  assert.equal(resolver.resolve("10.1.2.3", "garbage"), "10.1.2.3");
  assert.equal(resolver.resolve("::1", undefined), "::1");
  assert.equal(new ClientAddressResolver([]).resolve("::ffff:127.0.0.1", "1.2.3.4"), "127.0.0.1");
});

test("the connection limiter counts open connections per address and lets go on close", () => {
  const limiter = new ConnectionLimiter({ maxPerAddress: 2, newPerSecond: 0 });
  assert.equal(limiter.admit("a"), undefined);
  assert.equal(limiter.opened("a"), true);
  assert.equal(limiter.opened("a"), true);
  assert.equal(limiter.admit("a"), "connections_per_ip");
  assert.equal(limiter.opened("a"), false, "a raced third is one too many");
  limiter.closed("a");
  limiter.closed("a");
  limiter.closed("a");
  assert.equal(limiter.trackedAddresses, 0);
  const rate = new ConnectionLimiter({ maxPerAddress: 0, newPerSecond: 1 });
  assert.equal(rate.admit("b", 0), undefined);
  assert.equal(rate.admit("b", 1), "connection_rate_per_ip");
});

test("subscriber auth and proxy settings are validated at boot", () => {
  const fails = (env: Record<string, string>, name: string) =>
    assert.throws(() => loadConfig(env), (error: unknown) => error instanceof ConfigError && error.message.includes(name), JSON.stringify(env));
  fails({ SUBSCRIBE_AUTH: "jwt", SUBSCRIBE_JWT_AUDIENCE: "a" }, "SUBSCRIBE_JWT_SECRET");
  fails({ SUBSCRIBE_AUTH: "jwt", SUBSCRIBE_JWT_SECRET: "x".repeat(32) }, "SUBSCRIBE_JWT_AUDIENCE");
  fails({ SUBSCRIBE_AUTH: "jwt", SUBSCRIBE_JWT_SECRET: "short", SUBSCRIBE_JWT_AUDIENCE: "a" }, "SUBSCRIBE_JWT_SECRET");
  fails(
    { SUBSCRIBE_AUTH: "jwt", SUBSCRIBE_JWT_SECRET: "x".repeat(32), SUBSCRIBE_JWKS_URL: "https://x", SUBSCRIBE_JWT_AUDIENCE: "a" },
    "exactly one",
  );
  fails({ TRUSTED_PROXIES: "10.0.0.0/33" }, "TRUSTED_PROXIES");
  fails({ TRUSTED_PROXIES: "proxy.example" }, "TRUSTED_PROXIES");
  const config = loadConfig({ TRUSTED_PROXIES: "10.0.0.0/8, ::1" });
  assert.deepEqual(config.TRUSTED_PROXIES, ["10.0.0.0/8", "::1"]);
  assert.equal(config.SUBSCRIBE_AUTH, "none");
});
