import assert from "node:assert/strict";
import { test } from "node:test";
import { pingRedis, startRedisServer } from "../support/redis-server.js";

test("the redis-server helper starts on a free port, stops for an outage and starts again on the same port", async () => {
  const redis = await startRedisServer();
  try {
    assert.equal(await pingRedis(redis.port), "PONG");
    assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
    await redis.stop();
    await assert.rejects(pingRedis(redis.port));
    await redis.start();
    assert.equal(await pingRedis(redis.port), "PONG");
  } finally {
    await redis.close();
  }
  await assert.rejects(pingRedis(redis.port), "close leaves nothing running");
});
