import type { FastifyInstance } from "fastify";
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

/**
 * `GET /openapi.json` and its reference page, `GET /docs`; built on first request, when every route is registered.
 * Both are kept as the bytes sent: they need no key, and serializing the 74 KB document for each request cost
 * ~1.9 ms of CPU, eight health checks (docs/decisions/hostile-clients.md).
 */
export function openApiRoutes(app: FastifyInstance, info: ApiInfo, routes: readonly DescribedRoute[]): void {
  let document: OpenApiDocument | undefined;
  let json: Buffer | undefined;
  let page: Buffer | undefined;
  const built = () => (document ??= openApiDocument(info, routes));
  app.get("/openapi.json", async (_request, reply) =>
    reply.type("application/json; charset=utf-8").send((json ??= Buffer.from(JSON.stringify(built())))),
  );
  app.get("/docs", async (_request, reply) =>
    reply.type("text/html; charset=utf-8").send((page ??= Buffer.from(referencePage(built())))),
  );
}
