import assert from "node:assert/strict";
import { ServerResponse, IncomingMessage } from "node:http";
import { Socket } from "node:net";
import { test } from "node:test";
import Fastify from "fastify";
import helmet from "helmet";
import { registerSecurityHeaders } from "../../src/http/security-headers.js";

/** What helmet itself sets on a bare response with these options: the headers every answer must carry. */
function helmetsOwnHeaders(): Record<string, string> {
  const request = new IncomingMessage(new Socket());
  const response = new ServerResponse(request);
  helmet({ contentSecurityPolicy: false })(request, response, () => undefined);
  return Object.fromEntries(Object.entries(response.getHeaders()).map(([name, value]) => [name, String(value)]));
}

test("every answer carries helmet's headers, from a route, a 404 and an error alike", async () => {
  const expected = helmetsOwnHeaders();
  assert.ok(Object.keys(expected).length >= 8, "helmet sets its usual headers");
  assert.equal(expected["x-content-type-options"], "nosniff");

  const app = Fastify();
  registerSecurityHeaders(app, { contentSecurityPolicy: false });
  app.get("/ok", async () => ({ ok: true }));
  app.get("/fails", async () => {
    throw new Error("boom");
  });
  app.get("/own-policy", async (_request, reply) => reply.header("referrer-policy", "same-origin").send({ ok: true }));
  try {
    for (const [url, status] of [["/ok", 200], ["/missing", 404], ["/fails", 500]] as const) {
      const response = await app.inject({ method: "GET", url });
      assert.equal(response.statusCode, status, url);
      for (const [name, value] of Object.entries(expected)) assert.equal(response.headers[name], value, `${url}: ${name}`);
    }
    // Set before the handler runs, as helmet's own plugin did: a route can still choose its own value.
    const own = await app.inject({ method: "GET", url: "/own-policy" });
    assert.equal(own.headers["referrer-policy"], "same-origin");
  } finally {
    await app.close();
  }
});
