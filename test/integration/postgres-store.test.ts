import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { IdentityConflictError, StoreFatalError, type PaymentStore } from "../../src/store/payment-store.js";
import { openPostgresStore } from "../../src/store/postgres-store.js";
import { paymentInput } from "../support/payments.js";
import { startPostgresServer, type PostgresServer } from "../support/postgres-server.js";
import { storeContract } from "../support/store-contract.js";
import { openPostgresWebhookStore } from "../../src/webhooks/postgres-webhook-store.js";
import { webhookStoreContract } from "../support/webhook-store-contract.js";

let server: PostgresServer;
before(async () => {
  server = await startPostgresServer();
});
after(() => server?.close());

let databases = 0;
/** A fresh database per call, so tests never see each other's rows. */
const freshDatabase = () => server.createDatabase(`test_${++databases}`);

const payment = paymentInput;

storeContract("postgres", async (clock) => openPostgresStore({ url: await freshDatabase(), ...(clock === undefined ? {} : { now: clock }) }));

webhookStoreContract("postgres", async () => {
  const url = await freshDatabase();
  const payments = await openPostgresStore({ url });
  return { payments, webhooks: await openPostgresWebhookStore({ url }) };
});

describe("postgres store", () => {
  test("several nodes starting together on an empty database migrate once and agree", async () => {
    const url = await freshDatabase();
    const stores = await Promise.all(Array.from({ length: 5 }, () => openPostgresStore({ url })));
    try {
      const client = new pg.Client(url);
      await client.connect();
      const { rows } = await client.query("SELECT version FROM schema_migrations ORDER BY version");
      await client.end();
      assert.deepEqual(
        rows.map((row) => row.version),
        [1, 2, 3, 4],
      );
      await stores[0]!.append([payment("m")]);
      assert.equal(await stores[4]!.latestOffset("m"), 1);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  test("a reopened database keeps payments, heads and checkpoints", async () => {
    const url = await freshDatabase();
    const first = await openPostgresStore({ url });
    const stored = payment("t");
    await first.append([stored]);
    await first.writeCheckpoint("source", "x");
    await first.close();
    const second = await openPostgresStore({ url });
    try {
      assert.equal(await second.latestOffset("t"), 1);
      assert.equal(await second.readCheckpoint("source"), "x");
      const [again] = await second.append([stored]);
      assert.equal(again?.duplicate, true);
    } finally {
      await second.close();
    }
  });

  test("several nodes ingesting one tracking ID at the same moment get offsets 1..N, each payment once", async () => {
    const url = await freshDatabase();
    const nodes = 4;
    const batchesPerNode = 25;
    const stores = await Promise.all(Array.from({ length: nodes }, () => openPostgresStore({ url, maxConnections: 4 })));
    try {
      // Some payments reach every node (a source's retry landing on another
      // node); batches also touch other tracking IDs in varying order, so
      // locks on several heads are taken at once.
      const shared = Array.from({ length: 20 }, () => payment("hot"));
      const batchesOf = (node: number) =>
        Array.from({ length: batchesPerNode }, (_, batch) => {
          const own = [payment("hot"), payment(`side-${(node + batch) % 3}`), payment("hot")];
          const sharedOne = shared[(batch + node) % shared.length]!;
          return node % 2 === 0 ? [sharedOne, ...own] : [...own.reverse(), sharedOne];
        });
      const outcomes = (
        await Promise.all(
          stores.map(async (store, node) =>
            (await Promise.all(batchesOf(node).map((batch) => store.append(batch)))).flat(),
          ),
        )
      ).flat();

      const hot = await stores[0]!.list({ trackingId: "hot", after: 0, limit: 10_000 });
      const expected = shared.length + nodes * batchesPerNode * 2;
      assert.equal(hot.length, expected);
      assert.deepEqual(
        hot.map((p) => p.offset),
        Array.from({ length: expected }, (_, i) => i + 1),
      );
      assert.equal(new Set(hot.map((p) => p.id)).size, expected, "every payment stored once");
      assert.equal(await stores[1]!.latestOffset("hot"), expected);

      // Each payment was reported new exactly once, with the offset it was stored at.
      const offsetById = new Map(hot.map((p) => [p.id, p.offset]));
      const fresh = outcomes.filter((o) => !o.duplicate && o.payment.trackingId === "hot");
      assert.equal(fresh.length, expected);
      for (const outcome of outcomes.filter((o) => o.payment.trackingId === "hot")) {
        assert.equal(outcome.payment.offset, offsetById.get(outcome.payment.id));
      }
      for (let side = 0; side < 3; side++) {
        const rows = await stores[2]!.list({ trackingId: `side-${side}`, after: 0, limit: 10_000 });
        assert.deepEqual(
          rows.map((p) => p.offset),
          Array.from({ length: rows.length }, (_, i) => i + 1),
        );
      }
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  test("an in-batch repeat with different content is an identity conflict and stores nothing", async () => {
    const store = await openPostgresStore({ url: await freshDatabase() });
    try {
      const first = payment("c");
      await assert.rejects(store.append([first, { ...first, status: "failed" }]), IdentityConflictError);
      assert.equal(await store.latestOffset("c"), 0);
    } finally {
      await store.close();
    }
  });

  test("while PostgreSQL is down append and ping reject and store nothing; after it restarts the same store works", async () => {
    const url = await freshDatabase();
    const store: PaymentStore = await openPostgresStore({ url, connectionTimeoutMs: 2000 });
    try {
      await store.append([payment("outage")]);
      await server.stop();
      try {
        const lost = payment("outage");
        const error = await store.append([lost]).then(
          () => assert.fail("append must reject while PostgreSQL is down"),
          (rejection: unknown) => rejection,
        );
        assert.ok(!(error instanceof StoreFatalError), "an outage is not fatal: the node must stay up");
        assert.ok(!(error instanceof IdentityConflictError));
        await assert.rejects(store.ping());
        await assert.rejects(store.latestOffset("outage"));
      } finally {
        await server.start();
      }
      await store.ping();
      const [after] = await store.append([payment("outage")]);
      assert.equal(after?.payment.offset, 2, "nothing was stored while down");
      assert.equal((await store.list({ trackingId: "outage", after: 0, limit: 10 })).length, 2);
    } finally {
      await store.close();
    }
  });
});
