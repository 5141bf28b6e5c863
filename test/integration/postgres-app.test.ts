import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { paymentBody } from "../support/payments.js";
import { startPostgresServer, type PostgresServer } from "../support/postgres-server.js";
import { startTestServer } from "../support/test-server.js";
import { nextEvent } from "../support/wait.js";

let server: PostgresServer;
before(async () => {
  server = await startPostgresServer();
});
after(() => server?.close());

test("the app on PostgreSQL publishes to a subscriber, answers 503 while PostgreSQL is down, and recovers without a restart", async () => {
  const app = await startTestServer({ DATABASE_URL: await server.createDatabase("app") });
  try {
    const socket = await app.connect();
    const ack = nextEvent(socket, "ack");
    socket.emit("subscribe", { trackingId: "pg-app" });
    await ack;

    const delivered = nextEvent<any>(socket, "payment");
    const first = paymentBody({ trackingId: "pg-app", amount: "18446744073709551615" });
    const published = await app.publish(first);
    assert.equal(published.status, 200);
    assert.equal(published.body.offset, 1);
    const event = await delivered;
    assert.equal(event.data.signature, first.signature);
    assert.equal(event.data.amountRaw, "18446744073709551615");
    assert.equal((await app.get("/v1/health")).status, 200);

    await server.stop();
    try {
      const refused = await app.publish(paymentBody({ trackingId: "pg-app" }));
      assert.equal(refused.status, 503);
      assert.equal(refused.body.error.code, "STORE_UNAVAILABLE");
      const health = await app.get("/v1/health");
      assert.equal(health.status, 503);
      assert.equal(health.body.status, "unavailable");
      assert.equal(socket.connected, true, "subscribers stay connected through a store outage");
    } finally {
      await server.start();
    }

    assert.equal((await app.get("/v1/health")).status, 200);
    const next = nextEvent<any>(socket, "payment");
    const second = paymentBody({ trackingId: "pg-app" });
    const recovered = await app.publish(second);
    assert.equal(recovered.status, 200);
    assert.equal(recovered.body.offset, 2, "the refused publish stored nothing");
    assert.equal((await next).data.signature, second.signature);
    const history = await app.get("/v1/payments?trackingId=pg-app");
    assert.deepEqual(
      history.body.payments.map((p: any) => p.signature),
      [first.signature, second.signature],
    );
  } finally {
    await app.close();
  }
});
