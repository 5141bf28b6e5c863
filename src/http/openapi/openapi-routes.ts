import { gzipSync } from "node:zlib";
import { Negotiator } from "@fastify/accept-negotiator";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { openApiDocument, type ApiInfo, type DescribedRoute, type OpenApiDocument } from "./openapi-document.js";
import { referencePage } from "./reference-page.js";
import "./route-description.js";

/**
 * Collects the `config.openapi` of every route registered after this call;
 * call it before the routes, and serve the result with {@link openApiRoutes}.
 */
export function collectRouteDescriptions(app: FastifyInstance): DescribedRoute[] {
  const routes: DescribedRoute[] = [];
  app.addHook("onRoute", (route) => {
    const description = route.config?.openapi;
    if (description === undefined) return;
    for (const method of [route.method].flat()) {
      // Fastify adds a HEAD twin to every GET; the document lists the GET.
      if (method !== "HEAD") routes.push({ method, path: route.url, description });
    }
  });
  return routes;
}

/** A body kept as the bytes sent, and once gzipped for clients that accept it. */
interface KeptBody {
  identity: Buffer;
  gzip: Buffer;
}

function keptBody(text: string): KeptBody {
  const identity = Buffer.from(text);
  return { identity, gzip: gzipSync(identity, { level: 9 }) };
}

const encodings = new Negotiator({ supportedValues: ["gzip"] });

function sendKept(request: FastifyRequest, reply: FastifyReply, type: string, body: KeptBody): FastifyReply {
  reply.type(type).header("Vary", "Accept-Encoding");
  const accepted = request.headers["accept-encoding"];
  if (accepted !== undefined && encodings.negotiate(accepted) === "gzip") return reply.header("Content-Encoding", "gzip").send(body.gzip);
  return reply.send(body.identity);
}

/**
 * `GET /openapi.json` and its reference page, `GET /docs`; built on first request, when every route is registered.
 * Both are kept as the bytes sent, and gzipped once for clients that accept it: they need no key, and serializing
 * the 74 KB document for each request cost ~1.9 ms of CPU, eight health checks (docs/decisions/hostile-clients.md).
 */
export function openApiRoutes(app: FastifyInstance, info: ApiInfo, routes: readonly DescribedRoute[]): void {
  let document: OpenApiDocument | undefined;
  let json: KeptBody | undefined;
  let page: KeptBody | undefined;
  const built = () => (document ??= openApiDocument(info, routes));
  app.get("/openapi.json", async (request, reply) =>
    sendKept(request, reply, "application/json; charset=utf-8", (json ??= keptBody(JSON.stringify(built())))),
  );
  app.get("/docs", async (request, reply) => sendKept(request, reply, "text/html; charset=utf-8", (page ??= keptBody(referencePage(built())))));
}
