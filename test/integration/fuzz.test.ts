import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { metricValue } from "../support/metrics.js";
import { emitWithAck, startTestServer, TEST_API_KEY, type TestServer } from "../support/test-server.js";
import { collect } from "../support/wait.js";

/**
 * Property-based hostile input: arbitrary values at every socket event and
 * every HTTP route. Each property checks that the server answers in the
 * documented shape, keeps serving, and stores nothing it should not. Runs are
 * bounded so the file stays within seconds; the seed is printed on failure.
 */
const RUNS = 150;

// Events socket.io-client refuses to emit itself.
const RESERVED = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);

let server: TestServer;
const figures: Record<string, number> = {};
before(async () => {
  // Fuzzing is a flood by design: the per-socket event limit would answer instead of the handlers under test.
  server = await startTestServer({ SOCKET_EVENTS_PER_SECOND: "0", PUBLISH_RATE_PER_SECOND: "0", HISTORY_RATE_PER_SECOND: "0" });
});
after(async () => {
  console.log(`fuzz figures: ${JSON.stringify(figures)}`);
  await server.close();
});

function assertErrorEnvelope(message: any): void {
  assert.deepEqual(Object.keys(message).sort(), ["data", "timestamp", "type"]);
  assert.equal(message.type, "error");
  assert.deepEqual(Object.keys(message.data).sort(), ["code", "message"]);
  assert.equal(typeof message.data.code, "string");
  assert.equal(typeof message.data.message, "string");
  assert.equal(typeof message.timestamp, "number");
}

function assertHttpError(status: number, body: any): void {
  assert.ok(status >= 400 && status < 600, `status ${status}`);
  assert.deepEqual(Object.keys(body), ["error"]);
  const keys = Object.keys(body.error).sort();
  assert.ok(keys.join() === "code,message" || keys.join() === "code,message,path", keys.join());
  assert.equal(typeof body.error.code, "string");
  assert.ok(!/\bat .+:\d+:\d+/.test(body.error.message), "no stack frame in the message");
}

describe("socket events", () => {
  test("arbitrary payloads to subscribe and unsubscribe: refused in the documented shape, or acked", async () => {
    const socket = await server.connect();
    const errors = collect<any>(socket, "error");
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("subscribe", "unsubscribe"), fc.array(fc.anything(), { maxLength: 3 }), async (event, args) => {
        tried++;
        const response = await emitWithAck(socket, event, ...args);
        if (response.ok) {
          assert.equal(typeof response.trackingId, "string");
        } else {
          assert.ok(["INVALID_TRACKING_ID", "INVALID_SINCE"].includes(response.error.code), response.error.code);
          const envelope = await errors.until(errors.items.length).then((items) => items.at(-1));
          assertErrorEnvelope(envelope);
        }
      }),
      { numRuns: RUNS },
    );
    for (const envelope of errors.items) assertErrorEnvelope(envelope);
    assert.equal(socket.connected, true);
    figures.socketPayloads = tried;
    figures.socketErrors = errors.items.length;
  });

  test("arbitrary event names and arguments never break the connection, and nothing is stored", async () => {
    const socket = await server.connect();
    const errors = collect<any>(socket, "error");
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 40 }).filter((name) => !RESERVED.has(name)),
        fc.array(fc.oneof(fc.anything(), fc.uint8Array({ maxLength: 64 })), { maxLength: 4 }),
        async (event, args) => {
          tried++;
          socket.emit(event, ...args);
          // Events are handled in order: the sentinel's answer means the fuzzed one was dealt with.
          const sentinel = await emitWithAck(socket, "unsubscribe", { trackingId: "sentinel" });
          assert.equal(sentinel.ok, true);
        },
      ),
      { numRuns: RUNS },
    );
    for (const envelope of errors.items) assertErrorEnvelope(envelope);
    assert.equal(socket.connected, true);
    assert.equal(await metricValue(server.app.metrics.paymentsIngested, { source: "http" }), 0);
    figures.socketEvents = tried;
  });
});

describe("HTTP routes", () => {
  const jsonValue = fc.jsonValue({ maxDepth: 3 });
  const paymentLike = fc.record(
    {
      trackingId: fc.oneof(fc.string({ maxLength: 70 }), fc.anything()),
      amount: fc.oneof(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String), fc.double(), fc.anything()),
      timestamp: fc.oneof(fc.integer(), fc.double(), fc.string()),
      signature: fc.oneof(fc.string({ maxLength: 100 }), fc.base64String({ maxLength: 100 })),
      status: fc.oneof(fc.constantFrom("executed", "failed", "pending"), fc.string()),
      eventIndex: fc.anything(),
    },
    { requiredKeys: [] },
  );

  test("POST /v1/payments with arbitrary bodies: documented errors, and nothing stored from invalid input", async () => {
    let tried = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(jsonValue, paymentLike, fc.array(paymentLike, { maxLength: 5 })),
        fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-16"),
        fc.constantFrom(`Bearer ${TEST_API_KEY}`, "", "Bearer", "Basic abc", `Bearer ${TEST_API_KEY} extra`),
        async (body, contentType, authorization) => {
          tried++;
          const response = await fetch(`${server.url}/v1/payments`, {
            method: "POST",
            headers: { "content-type": contentType, ...(authorization === "" ? {} : { authorization }) },
            body: JSON.stringify(body) ?? "",
          });
          const parsed = JSON.parse(await response.text());
          if (response.status === 200) accepted++;
          else assertHttpError(response.status, parsed);
        },
      ),
      { numRuns: RUNS * 2 },
    );
    // Random input is (practically) never a valid payment; whatever the server accepted, it stored, and nothing more.
    assert.equal(await metricValue(server.app.metrics.paymentsIngested, { source: "http" }), accepted);
    figures.publishBodies = tried;
    figures.publishAccepted = accepted;
  });

  test("GET /v1/payments with arbitrary query strings answers 200 or a documented error", async () => {
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom("trackingId", "after", "limit", "x", "trackingId[]"), fc.oneof(fc.string(), fc.integer().map(String))),
        async (query) => {
          tried++;
          const response = await fetch(`${server.url}/v1/payments?${new URLSearchParams(query).toString()}`);
          const parsed = JSON.parse(await response.text());
          if (response.status === 200) assert.ok(Array.isArray(parsed.payments));
          else assertHttpError(response.status, parsed);
        },
      ),
      { numRuns: RUNS },
    );
    figures.historyQueries = tried;
  });

  test("random methods, paths, headers and bodies: the server answers every one, without internals", async () => {
    let tried = 0;
    const pathArb = fc.oneof(
      fc.constantFrom("/v1/payments", "/v1/health", "/metrics", "/ws/v1/", "/", "/v1", "/v1/payments/../health"),
      fc.webPath(),
      fc.string({ maxLength: 30 }).map((s) => `/${encodeURIComponent(s)}`),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"),
        pathArb,
        fc.dictionary(fc.constantFrom("x-forwarded-for", "content-type", "origin", "accept", "x-custom"), fc.string({ maxLength: 40 }).filter((v) => /^[\x20-\x7e]*$/.test(v))),
        fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
        async (method, path, headers, body) => {
          tried++;
          const response = await fetch(`${server.url}${path}`, {
            method,
            headers,
            ...(body === undefined || method === "GET" || method === "HEAD" ? {} : { body }),
          });
          const text = await response.text();
          assert.ok(response.status < 500 || response.status === 503, `${method} ${path}: ${response.status} ${text}`);
          assert.ok(!text.includes('"stack"'), "no stack in any answer");
          assert.ok(!/node_modules|\/src\//.test(text), "no file paths in any answer");
          if (!path.startsWith("/ws/v1") && response.status >= 400 && method !== "HEAD" && text.length > 0) assertHttpError(response.status, JSON.parse(text));
        },
      ),
      { numRuns: RUNS * 2 },
    );
    assert.equal((await server.get("/v1/health")).status, 200);
    figures.randomRequests = tried;
  });

  test("bodies nested to any depth, up to a million levels: past the limit INVALID_BODY before parsing, never a 500", async () => {
    let tried = 0;
    let deepest = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1_000_000 })),
        fc.constantFrom("[", '{"a":', '[{"b":'),
        fc.boolean(),
        fc.constantFrom(`Bearer ${TEST_API_KEY}`, ""),
        async (levels, opener, closed, authorization) => {
          tried++;
          const closer = opener === "[" ? "]" : opener === '{"a":' ? "}" : "}]";
          const body = `${opener.repeat(levels)}${closed ? `1${closer.repeat(levels)}` : ""}`;
          const depth = opener === '[{"b":' ? levels * 2 : levels;
          deepest = Math.max(deepest, depth);
          const startedAt = performance.now();
          const response = await fetch(`${server.url}/v1/payments`, {
            method: "POST",
            headers: { "content-type": "application/json", ...(authorization === "" ? {} : { authorization }) },
            body,
          });
          const parsed = JSON.parse(await response.text());
          assertHttpError(response.status, parsed);
          if (authorization === "") assert.equal(parsed.error.code, "UNAUTHORIZED");
          else if (Buffer.byteLength(body) > 2 * 1024 * 1024) assert.equal(parsed.error.code, "PAYLOAD_TOO_LARGE");
          else if (depth > 16) assert.equal(parsed.error.message, "The JSON body nests deeper than 16 levels", `depth ${depth}`);
          else assert.match(parsed.error.code, /^INVALID_(BODY|PAYMENT|TRACKING_ID)$/);
          assert.ok(performance.now() - startedAt < 5000, `answered in ${performance.now() - startedAt} ms`);
        },
      ),
      { numRuns: 40 },
    );
    figures.nestedBodies = tried;
    figures.deepestNesting = deepest;
  });

  test("answers carry the security headers", async () => {
    const response = await fetch(`${server.url}/v1/health`);
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.ok(response.headers.get("strict-transport-security"));
    assert.equal(response.headers.get("x-powered-by"), null);
    const notFound = await fetch(`${server.url}/nowhere`);
    assert.equal(notFound.headers.get("x-content-type-options"), "nosniff");
  });
});
