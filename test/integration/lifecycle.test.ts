import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { io } from "socket.io-client";
import { StoreFatalError, type PaymentStore } from "../../src/store/payment-store.js";
import { openSqliteStore } from "../../src/store/sqlite-store.js";
import { paymentBody } from "../support/payments.js";
import { startServerProcess } from "../support/server-process.js";
import { startTestServer, TEST_API_KEY } from "../support/test-server.js";
import { collect, nextEvent } from "../support/wait.js";

const dataDir = mkdtempSync(join(tmpdir(), "tributary-lifecycle-"));
after(() => rmSync(dataDir, { recursive: true, force: true }));

describe("restart", () => {
  test("a restarted server on the same SQLite file keeps the history and continues the offsets", async () => {
    const dir = mkdtempSync(join(dataDir, "restart-"));
    const first = await startTestServer({}, {}, dir);
    const bodies = Array.from({ length: 3 }, () => paymentBody({ trackingId: "restart" }));
    await first.publish(bodies);
    await first.close({ keepData: true });

    const second = await startTestServer({}, {}, dir);
    try {
      const socket = await second.connect();
      const ack = nextEvent(socket, "ack");
      socket.emit("subscribe", { trackingId: "restart" });
      await ack;
      const payment = nextEvent<any>(socket, "payment");
      const next = paymentBody({ trackingId: "restart" });
      const response = await second.publish([bodies[0], next]);
      assert.deepEqual(
        response.body.payments.map((p: any) => [p.offset, p.duplicate]),
        [
          [1, true],
          [4, false],
        ],
      );
      assert.equal((await payment).data.offset, 4);
      const history = await second.get("/v1/payments?trackingId=restart");
      assert.deepEqual(
        history.body.payments.map((p: any) => p.signature),
        [...bodies, next].map((b) => b.signature),
      );
    } finally {
      await second.close();
    }
  });
});

describe("SIGTERM", () => {
  test("drains: clients get CONNECTION_ERROR, are dropped without 'io server disconnect', and the process exits 0 within 10 s", async () => {
    const server = await startServerProcess({
      DATABASE_URL: `sqlite:${join(dataDir, "sigterm.sqlite")}`,
      TRIBUTARY_API_KEYS: TEST_API_KEY,
    });
    const sockets = [
      io(server.url, { path: "/ws/v1", transports: ["websocket"], reconnection: false }),
      io(server.url, { path: "/ws/v1", reconnection: false }),
    ];
    try {
      await Promise.all(sockets.map((socket) => nextEvent(socket, "connect")));
      const errors = sockets.map((socket) => nextEvent<any>(socket, "error", 10_000));
      const reasons = sockets.map((socket) => nextEvent<string>(socket, "disconnect", 10_000));
      const signalledAt = Date.now();
      server.child.kill("SIGTERM");
      for (const error of await Promise.all(errors)) {
        assert.equal(error.type, "error");
        assert.equal(error.data.code, "CONNECTION_ERROR");
      }
      for (const reason of await Promise.all(reasons)) {
        assert.notEqual(reason, "io server disconnect", "the stock client must reconnect on its own");
      }
      assert.equal(await server.exited, 0);
      assert.ok(Date.now() - signalledAt < 10_000, "exits within 10 s");
      assert.ok(server.logs.some((log) => log.msg === "draining"));
    } finally {
      for (const socket of sockets) socket.close();
      server.child.kill("SIGKILL");
    }
  });
});

describe("store failures", () => {
  test("a store locked by another process: health 503 and publish 503, nothing emitted; both recover", async () => {
    const server = await startTestServer();
    const path = server.databaseUrl.slice("sqlite:".length);
    const intruder = new Database(path);
    try {
      const socket = await server.connect();
      const ack = nextEvent(socket, "ack");
      socket.emit("subscribe", { trackingId: "locked" });
      await ack;
      const payments = collect<any>(socket, "payment");

      intruder.exec("BEGIN EXCLUSIVE");
      const health = await server.get("/v1/health");
      assert.equal(health.status, 503);
      assert.equal(health.body.store, "error");
      const refused = await server.publish(paymentBody({ trackingId: "locked" }));
      assert.equal(refused.status, 503);
      assert.equal(refused.body.error.code, "STORE_UNAVAILABLE");
      intruder.exec("COMMIT");

      assert.equal((await server.get("/v1/health")).status, 200);
      const accepted = paymentBody({ trackingId: "locked" });
      assert.equal((await server.publish(accepted)).body.offset, 1, "the refused payment was not stored");
      const [first] = await payments.until(1);
      assert.equal(first.data.signature, accepted.signature);
    } finally {
      intruder.close();
      await server.close();
    }
  });

  test("a broken store: clients get CONNECTION_ERROR before the server drops them", async () => {
    const real = openSqliteStore({ path: join(dataDir, "broken.sqlite") });
    let broken = false;
    const store = replacing(real, {
      append: (payments) => (broken ? Promise.reject(new StoreFatalError(new Error("disk I/O error"))) : real.append(payments)),
    });
    // Without an onFatalStoreError of its own, the app closes itself, as main does before exiting 1.
    const server = await startTestServer({}, { store });
    try {
      const socket = await server.connect({ reconnection: false });
      const error = nextEvent<any>(socket, "error");
      const dropped = nextEvent<string>(socket, "disconnect");
      broken = true;
      const response = await server.publish(paymentBody({ trackingId: "broken" }));
      assert.equal(response.status, 503);
      assert.equal(response.body.error.code, "STORE_UNAVAILABLE");
      const message = await error;
      assert.equal(message.data.code, "CONNECTION_ERROR");
      assert.match(message.data.message, /broken payment store/);
      assert.notEqual(await dropped, "io server disconnect");
      assert.equal((await server.get("/v1/health").catch(() => ({ status: 0 }))).status === 200, false);
    } finally {
      await server.app.close();
    }
  });

  test("a store found broken by a health check, not a publish, also drops clients and closes the app", async () => {
    const real = openSqliteStore({ path: join(dataDir, "broken-ping.sqlite") });
    let broken = false;
    const store = replacing(real, {
      // What the SQLite store answers once its writer thread has died.
      ping: () => (broken ? Promise.reject(new StoreFatalError(new Error("the SQLite writer thread exited with code 1"))) : real.ping()),
    });
    const server = await startTestServer({}, { store });
    try {
      const socket = await server.connect({ reconnection: false });
      const error = nextEvent<any>(socket, "error");
      const dropped = nextEvent<string>(socket, "disconnect");
      broken = true;
      const health = await server.get("/v1/health");
      assert.equal(health.status, 503);
      const message = await error;
      assert.equal(message.data.code, "CONNECTION_ERROR");
      assert.match(message.data.message, /broken payment store/);
      assert.notEqual(await dropped, "io server disconnect");
    } finally {
      await server.app.close();
    }
  });
});

/** The real store with some methods replaced; delegated one by one, since spreading a class instance copies none of its methods. */
function replacing(real: PaymentStore, replaced: Partial<PaymentStore>): PaymentStore {
  return {
    append: (payments) => real.append(payments),
    list: (query) => real.list(query),
    latestOffset: (trackingId) => real.latestOffset(trackingId),
    heads: (trackingIds) => real.heads(trackingIds),
    readCheckpoint: (source) => real.readCheckpoint(source),
    writeCheckpoint: (source, value) => real.writeCheckpoint(source, value),
    prune: (policy) => real.prune(policy),
    ping: () => real.ping(),
    close: () => real.close(),
    appendPolicyEvents: (events) => real.appendPolicyEvents(events),
    listPolicyEvents: (query) => real.listPolicyEvents(query),
    latestPolicyOffset: (trackingId) => real.latestPolicyOffset(trackingId),
    rememberPolicies: (mappings) => real.rememberPolicies(mappings),
    lookupPolicies: (policies) => real.lookupPolicies(policies),
    completablePolicies: (policies) => real.completablePolicies(policies),
    ...replaced,
  };
}

test("processes opening one fresh SQLite file at once migrate it once, none failing", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tributary-migrate-race-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "shared.sqlite");
  const script = fileURLToPath(new URL("../support/migrate-on-signal.ts", import.meta.url));
  const children = Array.from({ length: 8 }, () => fork(script, [path], { execArgv: ["--import", "tsx"] }));
  t.after(() => {
    for (const child of children) child.kill("SIGKILL");
  });
  await Promise.all(children.map((child) => once(child, "message")));
  const outcomes = children.map((child) => once(child, "message").then(([outcome]) => outcome as { ok: boolean; error?: string }));
  for (const child of children) child.send("go");
  assert.deepEqual(
    (await Promise.all(outcomes)).filter((outcome) => !outcome.ok),
    [],
  );
  const db = new Database(path, { readonly: true });
  t.after(() => db.close());
  assert.ok((db.pragma("user_version", { simple: true }) as number) > 0);
});
