import type { FastifyInstance } from "fastify";
import helmet, { type HelmetOptions } from "helmet";

/**
 * Helmet's headers on every answer Fastify writes. @fastify/helmet builds a
 * new helmet middleware chain for each request (17 – 80 µs, a sixth to a
 * third of a small request's CPU; npm run bench:request); the headers depend
 * only on the options, so the chain is built once here and run per request,
 * as helmet itself is meant to be used.
 */
export function registerSecurityHeaders(app: FastifyInstance, options: Readonly<HelmetOptions>): void {
  const setHeaders = helmet(options);
  app.addHook("onRequest", (request, reply, done) => {
    setHeaders(request.raw, reply.raw, (error?: unknown) => done(error instanceof Error ? error : undefined));
  });
}
