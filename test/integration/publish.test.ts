import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Socket } from "socket.io-client";
import { paymentBody, randomPubkey, randomSignature } from "../support/payments.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../support/test-server.js";
import { collect, nextEvent } from "../support/wait.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

let counter = 0;
const uniqueId = (label: string) => `${label}-${++counter}-${process.pid}`;

async function subscribed(trackingId: string): Promise<Socket> {
  const socket = await server.connect();
  const ack = nextEvent(socket, "ack");
  socket.emit("subscribe", { trackingId });
  await ack;
  return socket;
}

/**
 * Proves that nothing reached `socket` for `trackingId` before now: a valid
 * payment published afterwards must be the first one the socket receives.
 */
async function assertNothingDelivered(socket: Socket, trackingId: string, payments: { items: any[]; until(n: number): Promise<any[]> }) {
  const sentinel = paymentBody({ trackingId });
  assert.equal((await server.publish(sentinel)).status, 200);
  const [first] = await payments.until(1);
  assert.equal(first.data.signature, sentinel.signature, "the sentinel is the first payment delivered");
  assert.equal(first.data.offset, 1, "nothing was stored before the sentinel");
}

describe("POST /v1/payments", () => {
  test("a single payment is stored, answered with its outcome, and emitted", async () => {
    const trackingId = uniqueId("single");
    const socket = await subscribed(trackingId);
    const payment = nextEvent<any>(socket, "payment");
    const body = paymentBody({ trackingId, eventIndex: 2 });
    const response = await server.publish(body);
    assert.equal(response.status, 200);
    const expected = { id: `${body.signature}:2`, trackingId, offset: 1, duplicate: false };
    assert.deepEqual(response.body.payments, [expected]);
    assert.equal(response.body.duplicate, false);
    assert.equal(response.body.offset, 1);
    assert.equal((await payment).data.id, expected.id);
  });

  test("a batch assigns gap-free offsets in order and returns one outcome per item", async () => {
    const trackingId = uniqueId("batch");
    const other = uniqueId("batch-other");
    const bodies = [
      paymentBody({ trackingId }),
      paymentBody({ trackingId: other }),
      paymentBody({ trackingId }),
      paymentBody({ trackingId }),
    ];
    const response = await server.publish(bodies);
    assert.equal(response.status, 200);
    assert.deepEqual(
      response.body.payments.map((p: any) => [p.trackingId, p.offset, p.duplicate]),
      [
        [trackingId, 1, false],
        [other, 1, false],
        [trackingId, 2, false],
        [trackingId, 3, false],
      ],
    );
  });

  test("a duplicate publish stores and delivers nothing new and says duplicate: true", async () => {
    const trackingId = uniqueId("duplicate");
    const socket = await subscribed(trackingId);
    const payments = collect<any>(socket, "payment");
    const body = paymentBody({ trackingId });
    assert.equal((await server.publish(body)).body.duplicate, false);
    const again = await server.publish(body);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.payments, [{ id: `${body.signature}:0`, trackingId, offset: 1, duplicate: true }]);
    // Same signature, other event index: a different payment.
    await server.publish({ ...body, eventIndex: 1 });
    const received = await payments.until(2);
    assert.deepEqual(
      received.map((m) => [m.data.signature, m.data.eventIndex, m.data.offset]),
      [
        [body.signature, 0, 1],
        [body.signature, 1, 2],
      ],
    );
    const history = await server.get(`/v1/payments?trackingId=${trackingId}`);
    assert.equal(history.body.payments.length, 2);
  });

  test("the same identity with different content is refused with 409 and changes nothing", async () => {
    const trackingId = uniqueId("conflict");
    const body = paymentBody({ trackingId, amount: "5" });
    await server.publish(body);
    const conflict = await server.publish([paymentBody({ trackingId }), { ...body, amount: "6" }]);
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.error.code, "IDENTITY_CONFLICT");
    const history = await server.get(`/v1/payments?trackingId=${trackingId}`);
    assert.deepEqual(
      history.body.payments.map((p: any) => p.amountRaw),
      ["5"],
    );
  });

  test("a u64 above 2^53 stays exact end to end", async () => {
    const trackingId = uniqueId("u64");
    const socket = await subscribed(trackingId);
    const payment = nextEvent<any>(socket, "payment");
    const amount = "18446744073709551615";
    await server.publish(paymentBody({ trackingId, amount }));
    const message = await payment;
    assert.equal(message.data.amountRaw, amount);
    assert.equal(typeof message.data.amount, "number");
    assert.equal(BigInt(message.data.amountRaw), 2n ** 64n - 1n);
    const history = await server.get(`/v1/payments?trackingId=${trackingId}`);
    assert.equal(history.body.payments[0].amountRaw, amount);
    // 2^53 + 1 is the first integer a double cannot hold.
    await server.publish(paymentBody({ trackingId, amount: "9007199254740993" }));
    const next = await server.get(`/v1/payments?trackingId=${trackingId}&after=1`);
    assert.equal(next.body.payments[0].amountRaw, "9007199254740993");
  });

  test("optional on-chain detail is validated, stored and delivered", async () => {
    const trackingId = uniqueId("detail");
    const socket = await subscribed(trackingId);
    const payment = nextEvent<any>(socket, "payment");
    const detail = {
      paymentPolicy: randomPubkey(),
      gateway: randomPubkey(),
      payer: randomPubkey(),
      recipient: randomPubkey(),
      tokenMint: randomPubkey(),
      recordId: 4_294_967_295,
      slot: 312_345_678,
    };
    await server.publish(paymentBody({ trackingId, status: "pending", ...detail }));
    const { data } = await payment;
    assert.deepEqual({ ...detail, status: "pending" }, {
      paymentPolicy: data.paymentPolicy,
      gateway: data.gateway,
      payer: data.payer,
      recipient: data.recipient,
      tokenMint: data.tokenMint,
      recordId: data.recordId,
      slot: data.slot,
      status: data.status,
    });
  });

  describe("401: nothing stored or sent", () => {
    const cases: Array<[string, Record<string, string>]> = [
      ["no Authorization header", {}],
      ["a wrong key", { authorization: "Bearer not-the-key" }],
      ["a prefix of the key", { authorization: `Bearer ${TEST_API_KEY.slice(0, -1)}` }],
      ["the key without Bearer", { authorization: TEST_API_KEY }],
      ["Basic auth", { authorization: `Basic ${Buffer.from(`x:${TEST_API_KEY}`).toString("base64")}` }],
    ];
    for (const [label, headers] of cases) {
      test(label, async () => {
        const trackingId = uniqueId("unauthorized");
        const socket = await subscribed(trackingId);
        const payments = collect<any>(socket, "payment");
        const response = await server.publish(paymentBody({ trackingId }), headers);
        assert.equal(response.status, 401);
        assert.equal(response.body.error.code, "UNAUTHORIZED");
        await assertNothingDelivered(socket, trackingId, payments);
      });
    }
  });

  describe("400: one bad item, nothing stored or sent", () => {
    const sig = randomSignature;
    const cases: Array<[string, (trackingId: string) => unknown, string, string]> = [
      ["an empty trackingId", () => ({ ...paymentBody({ trackingId: "" }) }), "INVALID_TRACKING_ID", "trackingId"],
      ["a 65-byte trackingId", () => paymentBody({ trackingId: "x".repeat(65) }), "INVALID_TRACKING_ID", "trackingId"],
      ["a negative amount", (t) => paymentBody({ trackingId: t, amount: "-1" }), "INVALID_PAYMENT", "amount"],
      ["an amount above u64", (t) => paymentBody({ trackingId: t, amount: "18446744073709551616" }), "INVALID_PAYMENT", "amount"],
      ["an amount with an exponent", (t) => paymentBody({ trackingId: t, amount: "1e6" }), "INVALID_PAYMENT", "amount"],
      ["a fractional amount", (t) => paymentBody({ trackingId: t, amount: 1.5 }), "INVALID_PAYMENT", "amount"],
      ["an unsafe-integer amount number", (t) => paymentBody({ trackingId: t, amount: 2 ** 53 + 2 }), "INVALID_PAYMENT", "amount"],
      ["a missing timestamp", (t) => ({ trackingId: t, amount: "1", signature: sig() }), "INVALID_PAYMENT", "timestamp"],
      ["a bad status", (t) => paymentBody({ trackingId: t, status: "done" }), "INVALID_PAYMENT", "status"],
      ["a non-base58 signature", (t) => paymentBody({ trackingId: t, signature: "0OIl" }), "INVALID_PAYMENT", "signature"],
      ["a negative eventIndex", (t) => paymentBody({ trackingId: t, eventIndex: -1 }), "INVALID_PAYMENT", "eventIndex"],
      ["an unknown field", (t) => paymentBody({ trackingId: t, amuont: "1" }), "INVALID_PAYMENT", "amuont"],
      ["a bad pubkey", (t) => paymentBody({ trackingId: t, payer: "abc" }), "INVALID_PAYMENT", "payer"],
    ];
    for (const [label, makeBad, code, path] of cases) {
      test(`${label}, alone and as item 1 of a batch`, async () => {
        const trackingId = uniqueId("bad");
        const socket = await subscribed(trackingId);
        const payments = collect<any>(socket, "payment");
        const single = await server.publish(makeBad(trackingId));
        assert.equal(single.status, 400);
        assert.equal(single.body.error.code, code);
        assert.equal(single.body.error.path, path);
        assert.match(single.body.error.message, new RegExp(`^${path.replace(/[[\]]/g, "\\$&")}: `));

        const batch = await server.publish([paymentBody({ trackingId }), makeBad(trackingId)]);
        assert.equal(batch.status, 400);
        assert.equal(batch.body.error.code, code);
        assert.equal(batch.body.error.path, `[1].${path}`);
        await assertNothingDelivered(socket, trackingId, payments);
      });
    }

    test("bodies that are not payments", async () => {
      const raw = async (body: string, contentType = "application/json") => {
        const response = await fetch(`${server.url}/v1/payments`, {
          method: "POST",
          headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": contentType },
          body,
        });
        return { status: response.status, body: (await response.json()) as any };
      };
      for (const body of ["null", "42", '"x"', "[]", "[null]", "{"]) {
        const response = await raw(body);
        assert.equal(response.status, 400, body);
        assert.match(response.body.error.code, /^INVALID_(BODY|PAYMENT)$/, body);
        assert.equal(typeof response.body.error.message, "string");
        assert.equal(response.body.error.stack, undefined);
      }
      const tooMany = await server.publish(Array.from({ length: 1001 }, () => paymentBody({ trackingId: "many" })));
      assert.equal(tooMany.status, 400);
      assert.match(tooMany.body.error.message, /at most 1000/);
      const history = await server.get("/v1/payments?trackingId=many");
      assert.deepEqual(history.body.payments, []);
      assert.equal((await raw("trackingId=x", "application/x-www-form-urlencoded")).status, 415);
      const huge = await raw(JSON.stringify(paymentBody({ trackingId: "huge", padding: "x".repeat(3 * 1024 * 1024) })));
      assert.equal(huge.status, 413);
      assert.equal(huge.body.error.code, "PAYLOAD_TOO_LARGE");
      assert.deepEqual((await server.get("/v1/payments?trackingId=huge")).body.payments, []);
    });
  });
});

describe("GET /v1/payments", () => {
  test("returns the history in offset order, paged by after and limit", async () => {
    const trackingId = uniqueId("history");
    const bodies = Array.from({ length: 7 }, (_, i) => paymentBody({ trackingId, amount: String(i + 1) }));
    await server.publish(bodies.slice(0, 4));
    await server.publish(bodies.slice(4));
    const all = await server.get(`/v1/payments?trackingId=${encodeURIComponent(trackingId)}`);
    assert.equal(all.status, 200);
    assert.deepEqual(
      all.body.payments.map((p: any) => [p.offset, p.amountRaw, p.signature]),
      bodies.map((b, i) => [i + 1, String(i + 1), b.signature]),
    );
    const page = await server.get(`/v1/payments?trackingId=${trackingId}&after=2&limit=3`);
    assert.deepEqual(
      page.body.payments.map((p: any) => p.offset),
      [3, 4, 5],
    );
    const empty = await server.get(`/v1/payments?trackingId=${uniqueId("never")}`);
    assert.deepEqual(empty.body, { payments: [] });
  });

  test("bad queries get 400 with a code", async () => {
    for (const [query, code] of [
      ["", "INVALID_TRACKING_ID"],
      [`trackingId=${"x".repeat(65)}`, "INVALID_TRACKING_ID"],
      ["trackingId=a&limit=0", "INVALID_QUERY"],
      ["trackingId=a&limit=1001", "INVALID_QUERY"],
      ["trackingId=a&after=-1", "INVALID_QUERY"],
      ["trackingId=a&after=x", "INVALID_QUERY"],
    ]) {
      const response = await server.get(`/v1/payments?${query}`);
      assert.equal(response.status, 400, query);
      assert.equal(response.body.error.code, code, query);
    }
  });
});

describe("operations", () => {
  test("GET /v1/health is 200 while serving", async () => {
    const response = await server.get("/v1/health");
    assert.equal(response.status, 200);
    assert.equal(response.body.status, "ok");
    assert.equal(response.body.store, "ok");
  });

  test("GET /metrics reports connections, subscriptions, ingest, duplicates, deliveries, latency and errors", async () => {
    const trackingId = uniqueId("metrics");
    await subscribed(trackingId);
    const body = paymentBody({ trackingId });
    await server.publish(body);
    await server.publish(body);
    await server.publish(paymentBody({ trackingId: "" }));
    const response = await fetch(`${server.url}/metrics`);
    assert.match(response.headers.get("content-type") ?? "", /text\/plain/);
    const text = await response.text();
    const value = (pattern: string) => Number(new RegExp(`^${pattern} (\\S+)$`, "m").exec(text)?.[1]);
    assert.ok(value("tributary_connections") >= 1);
    assert.ok(value("tributary_subscriptions") >= 1);
    assert.ok(value('tributary_payments_ingested_total\\{source="http"\\}') >= 1);
    assert.ok(value('tributary_payments_duplicate_total\\{source="http"\\}') >= 1);
    assert.ok(value("tributary_deliveries_total") >= 1);
    assert.ok(value("tributary_publish_to_emit_seconds_count") >= 1);
    // Each of the two accepted publishes waited for a commit; the refused one never reached the store.
    assert.ok(value("tributary_store_commit_seconds_count") >= 2);
    assert.ok(value("tributary_store_commit_seconds_sum") > 0);
    assert.ok(value('tributary_errors_total\\{code="INVALID_TRACKING_ID"\\}') >= 1);
  });

  test("unknown routes get a coded 404", async () => {
    const response = await server.get("/v1/nothing");
    assert.equal(response.status, 404);
    assert.equal(response.body.error.code, "NOT_FOUND");
  });
});
