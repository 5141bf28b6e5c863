import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request, type IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import Database from "better-sqlite3";
import type { PaymentStore } from "../../src/store/payment-store.js";
import { openSqliteStore } from "../../src/store/sqlite-store.js";
import { paymentBody } from "../support/payments.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../support/test-server.js";
import { waitUntil } from "../support/wait.js";
import { startWebhookReceiver } from "../support/webhook-receiver.js";

/** A second publisher: its webhook endpoints are invisible to the first. */
const OTHER_KEY = "other-key-9876543210";

/**
 * /openapi.json is checked twice: as a document, by an OpenAPI 3.1 validator
 * that shares nothing with how it is generated; and against the service, by
 * sending each route requests that produce every status the document lists
 * and validating each real answer against the documented schema.
 */

interface Answer {
  status: number;
  contentType: string;
  body: unknown;
}

let document: any;
const ajv = new Ajv2020({ strict: false, allErrors: true });
// zod writes each date-time with the `pattern` that checks it; the format name itself adds no check here.
ajv.addFormat("date-time", true);
const covered = new Set<string>();

/** Asserts that the answer is documented for the route and matches its schema, and records it as covered. */
function conforms(method: string, path: string, answer: Answer): void {
  const operation = document.paths[path]?.[method.toLowerCase()];
  assert.ok(operation, `${method} ${path} is in the document`);
  const response = operation.responses[String(answer.status)];
  assert.ok(response, `${method} ${path} answered ${answer.status}, which the document does not list: ${JSON.stringify(answer.body)}`);
  const content = Object.entries(response.content ?? {});
  if (content.length === 0) {
    assert.equal(answer.body, "", `${method} ${path} ${answer.status} is documented without a body`);
    covered.add(`${method} ${path} ${answer.status}`);
    return;
  }
  const [mediaType, media] = content[0] as [string, { schema: object }];
  assert.equal(answer.contentType.split(";")[0], mediaType, `${method} ${path} ${answer.status}: content type`);
  const validate = ajv.compile(media.schema);
  assert.ok(
    validate(answer.body),
    `${method} ${path} ${answer.status} does not match its schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(answer.body)}`,
  );
  covered.add(`${method} ${path} ${answer.status}`);
}

async function send(server: TestServer, method: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, { method, ...init });
  const contentType = response.headers.get("content-type") ?? "";
  const text = await response.text();
  return { status: response.status, contentType, body: contentType.startsWith("application/json") ? JSON.parse(text) : text };
}

const json = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TEST_API_KEY}` }): RequestInit => ({
  headers: { "content-type": "application/json", ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

describe("the OpenAPI document", () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer(
      {
        MAX_BODY_BYTES: "4096",
        TRIBUTARY_API_KEYS: `${TEST_API_KEY},${OTHER_KEY}`,
        // The loopback receiver is let in by name; every other internal address stays refused.
        WEBHOOK_ALLOWED_HOSTS: "127.0.0.1",
        WEBHOOK_MAX_ENDPOINTS_PER_KEY: "2",
      },
      { webRoot: null },
    );
    const answer = await send(server, "GET", "/openapi.json");
    assert.equal(answer.status, 200);
    document = answer.body;
  });
  after(async () => {
    await server.close();
    const documented = Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(([path, operations]) =>
      Object.entries(operations).flatMap(([method, operation]) =>
        Object.keys(operation.responses).map((status) => `${method.toUpperCase()} ${path} ${status}`),
      ),
    );
    const missed = documented.filter((entry) => !covered.has(entry));
    assert.deepEqual(missed, [], "every documented answer was produced and checked");
  });

  test("is valid OpenAPI 3.1 for an independent validator, and describes every REST route", async () => {
    const validator = new Validator();
    const result = await validator.validate(document);
    assert.deepEqual(result, { valid: true });
    assert.equal(validator.version, "3.1");
    const operations = Object.entries(document.paths as Record<string, object>).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    assert.deepEqual(operations.sort(), [
      "GET /metrics",
      "GET /v1/health",
      "GET /v1/history",
      "GET /v1/payments",
      "GET /v1/stats",
      "GET /v1/webhooks",
      "GET /v1/webhooks/{id}",
      "GET /v1/webhooks/{id}/deliveries",
      "PATCH /v1/webhooks/{id}",
      "DELETE /v1/webhooks/{id}",
      "POST /v1/payments",
      "POST /v1/webhooks",
      "POST /v1/webhooks/{id}/replay",
      "POST /v1/webhooks/{id}/rotate-secret",
      "POST /v1/webhooks/{id}/test",
    ].sort());
    const getOne = document.paths["/v1/webhooks/{id}"].get;
    assert.deepEqual(
      getOne.parameters.map((parameter: any) => [parameter.name, parameter.in, parameter.required]),
      [["id", "path", true]],
      "the Fastify path parameter :id is an OpenAPI path parameter {id}",
    );
    assert.deepEqual(
      document.paths["/v1/webhooks/{id}/deliveries"].get.parameters.map((parameter: any) => [parameter.name, parameter.in]),
      [
        ["id", "path"],
        ["limit", "query"],
      ],
    );
  });

  test("POST /v1/payments: each answer matches the document", async () => {
    const payment = paymentBody({ trackingId: "openapi-publish" });
    conforms("POST", "/v1/payments", await send(server, "POST", "/v1/payments", json(payment)));
    const duplicate = await send(server, "POST", "/v1/payments", json(payment));
    assert.equal((duplicate.body as any).duplicate, true);
    conforms("POST", "/v1/payments", duplicate);
    const batch = await send(server, "POST", "/v1/payments", json([paymentBody({ trackingId: "openapi-publish" }), paymentBody({ trackingId: "b" })]));
    assert.equal(batch.status, 200);
    conforms("POST", "/v1/payments", batch);

    for (const invalid of [{ ...paymentBody({ trackingId: "x" }), amount: "-1" }, { ...paymentBody({ trackingId: "" }) }, []]) {
      const answer = await send(server, "POST", "/v1/payments", json(invalid));
      assert.equal(answer.status, 400);
      conforms("POST", "/v1/payments", answer);
    }
    const noKey = await send(server, "POST", "/v1/payments", json(payment, {}));
    assert.equal((noKey.body as any).error.code, "UNAUTHORIZED");
    conforms("POST", "/v1/payments", noKey);
    const conflict = await send(server, "POST", "/v1/payments", json({ ...payment, amount: "2" }));
    assert.equal(conflict.status, 409);
    conforms("POST", "/v1/payments", conflict);
    const tooLarge = await send(server, "POST", "/v1/payments", json({ ...payment, trackingId: "x".repeat(5000) }));
    assert.equal(tooLarge.status, 413);
    conforms("POST", "/v1/payments", tooLarge);
    const wrongType = await send(server, "POST", "/v1/payments", {
      headers: { "content-type": "application/xml", authorization: `Bearer ${TEST_API_KEY}` },
      body: JSON.stringify(payment),
    });
    assert.equal(wrongType.status, 415);
    conforms("POST", "/v1/payments", wrongType);
  });

  test("GET /v1/payments, /v1/stats, /v1/health and /metrics: each answer matches the document", async () => {
    const ok = await send(server, "GET", "/v1/payments?trackingId=openapi-publish&after=0&limit=10");
    assert.equal((ok.body as any).payments.length, 2);
    conforms("GET", "/v1/payments", ok);
    for (const query of ["", "?trackingId=a&limit=0", "?trackingId=a&after=-1"]) {
      const answer = await send(server, "GET", `/v1/payments${query}`);
      assert.equal(answer.status, 400);
      conforms("GET", "/v1/payments", answer);
    }
    const history = await send(server, "GET", "/v1/history?trackingId=openapi-publish&kind=all&limit=10");
    assert.equal((history.body as any).items.length, 2);
    conforms("GET", "/v1/history", history);
    for (const query of ["?trackingId=a&kind=other", "?trackingId=a&policyAfter=-1"]) {
      const answer = await send(server, "GET", `/v1/history${query}`);
      assert.equal(answer.status, 400);
      conforms("GET", "/v1/history", answer);
    }
    conforms("GET", "/v1/stats", await send(server, "GET", "/v1/stats"));
    conforms("GET", "/v1/health", await send(server, "GET", "/v1/health"));
    conforms("GET", "/metrics", await send(server, "GET", "/metrics"));
  });

  test("the webhook routes: each answer matches the document", async () => {
    const receiver = await startWebhookReceiver();
    const keyed = (key = TEST_API_KEY): RequestInit => ({ headers: { authorization: `Bearer ${key}` } });
    const expect = async (method: string, path: string, url: string, init: RequestInit, status: number, code?: string) => {
      const answer = await send(server, method, url, init);
      assert.equal(answer.status, status, `${method} ${url}: ${JSON.stringify(answer.body)}`);
      if (code !== undefined) assert.equal((answer.body as any).error.code, code, `${method} ${url}`);
      conforms(method, path, answer);
      return answer.body as any;
    };
    const list = "/v1/webhooks";
    const one = "/v1/webhooks/{id}";
    const filter = { trackingIds: ["openapi-webhook"] };
    const tooLong = "x".repeat(65);
    const bigBody = { url: receiver.url, filter, description: "x".repeat(5000) };
    const xml: RequestInit = { headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/xml" }, body: "<a/>" };
    try {
      // POST /v1/webhooks
      const created = await expect("POST", list, list, json({ url: receiver.url, filter, description: "openapi" }), 201);
      assert.match(created.secret, /^whsec_/);
      const id: string = created.id;
      await expect("POST", list, list, json({ url: receiver.url, filter: {} }), 400, "INVALID_BODY");
      // Refused from the URL alone: no connection is attempted to the internal address.
      await expect("POST", list, list, json({ url: "https://10.0.0.1/hook", filter }), 400, "WEBHOOK_URL_REFUSED");
      const second = await expect("POST", list, list, json({ url: receiver.url, filter: { all: true } }), 201);
      await expect("POST", list, list, json({ url: receiver.url, filter }), 409, "WEBHOOK_LIMIT");
      await expect("POST", list, list, json(bigBody), 413, "PAYLOAD_TOO_LARGE");
      await expect("POST", list, list, xml, 415, "UNSUPPORTED_MEDIA_TYPE");
      await expect("POST", list, list, json({ url: receiver.url, filter }, {}), 401, "UNAUTHORIZED");
      const foreign = await expect("POST", list, list, json({ url: receiver.url, filter }, { authorization: `Bearer ${OTHER_KEY}` }), 201);

      // GET /v1/webhooks
      const listed = await expect("GET", list, list, keyed(), 200);
      assert.deepEqual(listed.webhooks.map((webhook: any) => webhook.id).sort(), [id, second.id].sort(), "only this key's endpoints");
      await expect("GET", list, list, {}, 401, "UNAUTHORIZED");

      // GET /v1/webhooks/{id}
      assert.equal((await expect("GET", one, `${list}/${id}`, keyed(), 200)).id, id);
      await expect("GET", one, `${list}/${tooLong}`, keyed(), 400, "INVALID_QUERY");
      await expect("GET", one, `${list}/ep_unknown`, keyed(), 404, "NOT_FOUND");
      await expect("GET", one, `${list}/${foreign.id}`, keyed(), 404, "NOT_FOUND");
      await expect("GET", one, `${list}/${id}`, {}, 401, "UNAUTHORIZED");

      // PATCH /v1/webhooks/{id}
      const patch = (body: unknown, headers?: Record<string, string>) => ({ ...json(body, headers), method: "PATCH" });
      assert.equal((await expect("PATCH", one, `${list}/${id}`, patch({ description: "changed" }), 200)).description, "changed");
      await expect("PATCH", one, `${list}/${id}`, patch({}), 400, "INVALID_BODY");
      await expect("PATCH", one, `${list}/${id}`, patch({ url: "https://10.0.0.1/hook" }), 400, "WEBHOOK_URL_REFUSED");
      await expect("PATCH", one, `${list}/${tooLong}`, patch({ enabled: true }), 400, "INVALID_QUERY");
      await expect("PATCH", one, `${list}/${foreign.id}`, patch({ enabled: false }), 404, "NOT_FOUND");
      await expect("PATCH", one, `${list}/${id}`, patch(bigBody), 413, "PAYLOAD_TOO_LARGE");
      await expect("PATCH", one, `${list}/${id}`, xml, 415, "UNSUPPORTED_MEDIA_TYPE");
      await expect("PATCH", one, `${list}/${id}`, patch({ enabled: true }, {}), 401, "UNAUTHORIZED");

      // POST /v1/webhooks/{id}/rotate-secret
      const rotate = `${one}/rotate-secret`;
      const rotated = await expect("POST", rotate, `${list}/${id}/rotate-secret`, keyed(), 200);
      assert.notEqual(rotated.secret, created.secret);
      await expect("POST", rotate, `${list}/${tooLong}/rotate-secret`, keyed(), 400, "INVALID_QUERY");
      await expect("POST", rotate, `${list}/${foreign.id}/rotate-secret`, keyed(), 404, "NOT_FOUND");
      await expect("POST", rotate, `${list}/${id}/rotate-secret`, {}, 401, "UNAUTHORIZED");

      // POST /v1/webhooks/{id}/test, then its attempt in GET /v1/webhooks/{id}/deliveries
      const testPath = `${one}/test`;
      const queued = await expect("POST", testPath, `${list}/${id}/test`, keyed(), 202);
      const [arrived] = await receiver.until(1);
      assert.equal(arrived!.headers["webhook-id"], queued.messageId);
      await expect("POST", testPath, `${list}/${tooLong}/test`, keyed(), 400, "INVALID_QUERY");
      await expect("POST", testPath, `${list}/${foreign.id}/test`, keyed(), 404, "NOT_FOUND");
      await expect("POST", testPath, `${list}/${id}/test`, {}, 401, "UNAUTHORIZED");
      const deliveries = `${one}/deliveries`;
      await waitUntil(
        async () => ((await send(server, "GET", `${list}/${id}/deliveries`, keyed())).body as any).attempts.length > 0,
        "the test message's attempt is recorded",
      );
      const log = await expect("GET", deliveries, `${list}/${id}/deliveries?limit=10`, keyed(), 200);
      assert.deepEqual([log.attempts[0].messageId, log.attempts[0].statusCode], [queued.messageId, 200]);
      await expect("GET", deliveries, `${list}/${id}/deliveries?limit=0`, keyed(), 400, "INVALID_QUERY");
      await expect("GET", deliveries, `${list}/${foreign.id}/deliveries`, keyed(), 404, "NOT_FOUND");
      await expect("GET", deliveries, `${list}/${id}/deliveries`, {}, 401, "UNAUTHORIZED");

      // POST /v1/webhooks/{id}/replay
      const replay = `${one}/replay`;
      const at = `${list}/${id}/replay`;
      assert.equal((await expect("POST", replay, at, json({ since: { "openapi-webhook": 0 } }), 202)).queued, 0);
      assert.equal(typeof (await expect("POST", replay, at, json({ from: new Date().toISOString() }), 202)).queued, "number");
      await expect("POST", replay, at, json({ since: {} }), 400, "INVALID_BODY");
      await expect("POST", replay, `${list}/${tooLong}/replay`, json({ from: new Date().toISOString() }), 400, "INVALID_QUERY");
      await expect("POST", replay, `${list}/${foreign.id}/replay`, json({ from: new Date().toISOString() }), 404, "NOT_FOUND");
      await expect("POST", replay, at, json({ since: { ["x".repeat(60)]: 0 }, pad: "x".repeat(5000) }), 413, "PAYLOAD_TOO_LARGE");
      await expect("POST", replay, at, xml, 415, "UNSUPPORTED_MEDIA_TYPE");
      await expect("POST", replay, at, json({ since: { "openapi-webhook": 0 } }, {}), 401, "UNAUTHORIZED");

      // DELETE /v1/webhooks/{id}
      const remove = (key = TEST_API_KEY): RequestInit => ({ ...keyed(key), method: "DELETE" });
      await expect("DELETE", one, `${list}/${second.id}`, remove(), 204);
      await expect("DELETE", one, `${list}/${second.id}`, remove(), 404, "NOT_FOUND");
      await expect("DELETE", one, `${list}/${foreign.id}`, remove(), 404, "NOT_FOUND");
      await expect("DELETE", one, `${list}/${tooLong}`, remove(), 400, "INVALID_QUERY");
      await expect("DELETE", one, `${list}/${id}`, { method: "DELETE" }, 401, "UNAUTHORIZED");
      assert.equal((await send(server, "GET", `${list}/${foreign.id}`, keyed(OTHER_KEY))).status, 200, "another key's endpoint is untouched");
    } finally {
      await receiver.close();
    }
  });

  test("a store locked by another process: publish and health answer 503 as documented", async () => {
    const intruder = new Database(server.databaseUrl.slice("sqlite:".length));
    try {
      intruder.exec("BEGIN EXCLUSIVE");
      const health = await send(server, "GET", "/v1/health");
      assert.equal(health.status, 503);
      conforms("GET", "/v1/health", health);
      const publish = await send(server, "POST", "/v1/payments", json(paymentBody({ trackingId: "locked" })));
      assert.equal((publish.body as any).error.code, "STORE_UNAVAILABLE");
      conforms("POST", "/v1/payments", publish);
      intruder.exec("COMMIT");
    } finally {
      intruder.close();
    }
  });

  test("publishing not configured, and over the publish rate: 401 and 429 as documented", async () => {
    const closed = await startTestServer({ TRIBUTARY_API_KEYS: "", PUBLISH_RATE_PER_SECOND: "1" }, { webRoot: null });
    try {
      const codes = new Set<number>();
      // One request per second passes the limiter (and is refused for want of a key); the next ones within it are limited.
      for (let attempt = 0; attempt < 10 && !codes.has(429); attempt++) {
        const answer = await send(closed, "POST", "/v1/payments", json(paymentBody({ trackingId: "closed" })));
        conforms("POST", "/v1/payments", answer);
        if (answer.status === 401) assert.equal((answer.body as any).error.code, "PUBLISHING_DISABLED");
        codes.add(answer.status);
      }
      assert.deepEqual([...codes].sort(), [401, 429]);
    } finally {
      await closed.close();
    }
  });

  test("over the history rate: 429 as documented", async () => {
    const limited = await startTestServer({ HISTORY_RATE_PER_SECOND: "1", HISTORY_BURST: "1" }, { webRoot: null });
    try {
      for (const path of ["/v1/payments", "/v1/history"]) {
        const statuses: number[] = [];
        for (let attempt = 0; attempt < 10 && !statuses.includes(429); attempt++) {
          const answer = await send(limited, "GET", `${path}?trackingId=limited`);
          conforms("GET", path, answer);
          statuses.push(answer.status);
        }
        assert.ok(statuses.includes(429), `${path}: a read past the burst is refused (got ${statuses.join(", ")})`);
      }
    } finally {
      await limited.close();
    }
  });

  test("subscriber auth on: history without a covering token answers 401 as documented", async () => {
    const guarded = await startTestServer(
      { SUBSCRIBE_AUTH: "jwt", SUBSCRIBE_JWT_SECRET: "s".repeat(40), SUBSCRIBE_JWT_AUDIENCE: "tributary-ws" },
      { webRoot: null },
    );
    try {
      for (const path of ["/v1/payments", "/v1/history"]) {
        const answer = await send(guarded, "GET", `${path}?trackingId=private`);
        assert.equal(answer.status, 401);
        conforms("GET", path, answer);
      }
    } finally {
      await guarded.close();
    }
  });

  test("while the node drains: every route answers 503 as documented", async () => {
    // The drain waits for publishes in flight; one held in the store keeps the node draining while it is asked.
    const dataDir = mkdtempSync(join(tmpdir(), "tributary-openapi-"));
    const real = openSqliteStore({ path: join(dataDir, "drain.sqlite") });
    let release: () => void = () => undefined;
    let entered: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const reachedStore = new Promise<void>((resolve) => (entered = resolve));
    const store = new Proxy(real, {
      get(target, property, receiver) {
        if (property === "append") {
          return async (...args: Parameters<PaymentStore["append"]>) => {
            entered();
            await held;
            return target.append(...args);
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const draining = await startTestServer({}, { store, webRoot: null }, dataDir);
    try {
      const inFlight = draining.publish(paymentBody({ trackingId: "held" }));
      await reachedStore;
      const closed = draining.app.close();
      // The drain has closed the listener, so the requests go through Fastify's injection: the same hooks, handlers and error handler.
      for (const [method, url, documented = url.split("?")[0]!] of [
        ["POST", "/v1/payments"],
        ["GET", "/v1/payments?trackingId=held"],
        ["GET", "/v1/history?trackingId=held"],
        ["GET", "/v1/stats"],
        ["GET", "/metrics"],
        ["GET", "/v1/health"],
        ["POST", "/v1/webhooks"],
        ["GET", "/v1/webhooks"],
        ["GET", "/v1/webhooks/ep_held", "/v1/webhooks/{id}"],
        ["PATCH", "/v1/webhooks/ep_held", "/v1/webhooks/{id}"],
        ["DELETE", "/v1/webhooks/ep_held", "/v1/webhooks/{id}"],
        ["POST", "/v1/webhooks/ep_held/rotate-secret", "/v1/webhooks/{id}/rotate-secret"],
        ["POST", "/v1/webhooks/ep_held/test", "/v1/webhooks/{id}/test"],
        ["GET", "/v1/webhooks/ep_held/deliveries", "/v1/webhooks/{id}/deliveries"],
        ["POST", "/v1/webhooks/ep_held/replay", "/v1/webhooks/{id}/replay"],
      ] as const) {
        const response = await draining.app.http.inject({
          method,
          url,
          headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
          ...(method === "POST" || method === "PATCH" ? { payload: JSON.stringify(paymentBody({ trackingId: "late" })) } : {}),
        });
        assert.equal(response.statusCode, 503, `${method} ${url}`);
        conforms(method, documented, {
          status: response.statusCode,
          contentType: String(response.headers["content-type"]),
          body: response.json(),
        });
      }
      release();
      assert.equal((await inFlight).status, 200, "the publish in flight was finished by the drain");
      await closed;
    } finally {
      release();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("/openapi.json and /docs go gzipped to a client that accepts it, and as they are to one that does not", async () => {
    for (const path of ["/openapi.json", "/docs"]) {
      const plain = await rawGet(server.url + path, {});
      const zipped = await rawGet(server.url + path, { "accept-encoding": "br, gzip;q=0.8" });
      const declined = await rawGet(server.url + path, { "accept-encoding": "gzip;q=0, identity" });
      assert.deepEqual(
        [plain, zipped, declined].map((answer) => [answer.status, answer.headers["content-encoding"], answer.headers.vary]),
        [
          [200, undefined, "Accept-Encoding"],
          [200, "gzip", "Accept-Encoding"],
          [200, undefined, "Accept-Encoding"],
        ],
        path,
      );
      assert.ok(zipped.body.length * 4 < plain.body.length, `${path}: ${zipped.body.length} bytes gzipped, ${plain.body.length} as it is`);
      assert.deepEqual(gunzipSync(zipped.body), plain.body);
      assert.deepEqual(declined.body, plain.body);
    }
  });

  test("/docs is a reference page that needs nothing from elsewhere", async () => {
    const answer = await send(server, "GET", "/docs");
    assert.equal(answer.status, 200);
    assert.match(answer.contentType, /^text\/html/);
    const page = answer.body as string;
    for (const path of Object.keys(document.paths)) assert.ok(page.includes(path), `the page lists ${path}`);
    assert.doesNotMatch(page, /<script|<link|src=|https?:\/\//, "no script, stylesheet or remote resource");
  });
});

/** A GET that sends only the headers given and reads the body's bytes as sent (fetch would ask for and undo gzip). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    })
      .on("error", reject)
      .end();
  });
}
