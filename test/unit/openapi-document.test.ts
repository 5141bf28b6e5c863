import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { openApiDocument, openApiPath } from "../../src/http/openapi/openapi-document.js";
import type { RouteDescription } from "../../src/http/openapi/route-description.js";

const info = { title: "t", version: "0", description: "d" };
const base: RouteDescription = { operationId: "op", summary: "s", tags: ["t"], responses: { 204: { description: "done" } } };

test("Fastify path parameters become OpenAPI ones", () => {
  assert.equal(openApiPath("/v1/webhooks/:id/replay"), "/v1/webhooks/{id}/replay");
  assert.equal(openApiPath("/v1/webhooks"), "/v1/webhooks");
});

test("a path parameter is listed from the params schema, required, before the query parameters", () => {
  const document = openApiDocument(info, [
    {
      method: "GET",
      path: "/things/:id",
      description: {
        ...base,
        params: z.object({ id: z.string().max(64).describe("The thing") }),
        query: z.object({ limit: z.coerce.number().default(1) }),
      },
    },
  ]);
  assert.deepEqual(Object.keys(document.paths), ["/things/{id}"]);
  assert.deepEqual(document.paths["/things/{id}"]?.get?.parameters, [
    { name: "id", in: "path", required: true, description: "The thing", schema: { type: "string", maxLength: 64 } },
    { name: "limit", in: "query", required: false, schema: { type: "number", default: 1 } },
  ]);
});

test("a path parameter without a description in params is refused rather than documented wrong", () => {
  assert.throws(() => openApiDocument(info, [{ method: "GET", path: "/things/:id", description: base }]), /path parameters id/);
  assert.throws(
    () => openApiDocument(info, [{ method: "GET", path: "/things", description: { ...base, params: z.object({ id: z.string() }) } }]),
    /params describes id/,
  );
});
