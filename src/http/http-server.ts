import { existsSync } from "node:fs";
import cors from "@fastify/cors";
import fastifyStatic from "@fastify/static";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import { ERRORS, ServiceError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { healthRoutes, type HealthRoutesOptions } from "./routes/health-routes.js";
import { paymentRoutes, type PaymentRoutesOptions } from "./routes/payment-routes.js";
import { statsRoutes, type StatsRoutesOptions } from "./routes/stats-routes.js";
import { webhookRoutes, type WebhookRoutesOptions } from "./routes/webhook-routes.js";

/** API answers are never rendered: the strictest policy costs nothing and blocks any reflected markup. */
const API_CONTENT_POLICY = "default-src 'none'; frame-ancestors 'none'";
/** The live payments page loads only its own bundles and talks only to this origin. */
const PAGE_CONTENT_POLICY =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
  "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export interface HttpServerOptions {
  logger: Logger;
  metrics: Metrics;
  corsOrigins: readonly string[];
  bodyLimit: number;
  payments: Omit<PaymentRoutesOptions, "publishRateLimit">;
  health: HealthRoutesOptions;
  stats: StatsRoutesOptions;
  webhooks?: WebhookRoutesOptions;
  /** The built live payments page (web/dist), served at `/` when it exists. */
  webRoot?: string;
  /** Whether a TCP peer is a trusted proxy, whose X-Forwarded-For names the client. */
  isTrustedProxy: (address: string) => boolean;
  /** Publish requests per second per API key (per address without a valid key); 0 for no limit. */
  publishRatePerSecond: number;
  /** Which configured API key a request presents (its position), for the per-key rate limit. */
  identifyApiKey: (authorization: string | undefined) => number | undefined;
}

/** The REST side: publish, history, health, stats and metrics, with one error shape for all of them; and the page. */
export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger.child({ component: "http" }) as FastifyBaseLogger,
    bodyLimit: options.bodyLimit,
    // Per-request logs at publish rates drown everything else; errors are logged by the handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Open sockets would otherwise hold close() open until they time out.
    forceCloseConnections: "idle",
    return503OnClosing: true,
    trustProxy: (address: string) => options.isTrustedProxy(address),
    // Fastify's own answer to unparsable HTTP has a shape of its own; ours is the catalogue's.
    clientErrorHandler: (error, socket) => {
      if (!socket.writable) return socket.destroy();
      const tooLarge = (error as { code?: string }).code === "HPE_HEADER_OVERFLOW";
      const body = JSON.stringify({
        error: tooLarge
          ? { code: "PAYLOAD_TOO_LARGE", message: "The request headers are too large" }
          : { code: "MALFORMED_REQUEST", message: ERRORS.MALFORMED_REQUEST.message },
      });
      options.metrics.countError(tooLarge ? "PAYLOAD_TOO_LARGE" : "MALFORMED_REQUEST");
      socket.end(
        `HTTP/1.1 ${tooLarge ? "431 Request Header Fields Too Large" : "400 Bad Request"}\r\n` +
          `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
      );
    },
  });
  // Content policy per answer below: helmet's one global policy cannot fit both the API and the page.
  await app.register(helmet, { contentSecurityPolicy: false });
  app.addHook("onSend", async (_request, reply, payload) => {
    const isDocument = String(reply.getHeader("content-type") ?? "").startsWith("text/html");
    reply.header("content-security-policy", isDocument ? PAGE_CONTENT_POLICY : API_CONTENT_POLICY);
    return payload;
  });
  await app.register(cors, {
    origin: options.corsOrigins.includes("*") ? "*" : [...options.corsOrigins],
    // A bare OPTIONS would otherwise get a plain-text 400 outside the one error shape; a 204 tells a scanner nothing.
    strictPreflight: false,
  });
  await app.register(rateLimit, { global: false });

  app.setErrorHandler((error: FastifyError | ServiceError, request, reply) => {
    const serviceError = toServiceError(error);
    options.metrics.countError(serviceError.code);
    if (serviceError.code === "INTERNAL") request.log.error({ err: error }, "request failed");
    // Only the catalogue's code and message leave the process: no stack, no internals.
    return reply.code(serviceError.status).send({ error: serviceError.toJSON() });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: { code: "NOT_FOUND", message: `No route for ${request.method} ${request.url.split("?")[0]}` } });
  });

  paymentRoutes(app, {
    ...options.payments,
    ...(options.publishRatePerSecond > 0
      ? {
          publishRateLimit: {
            max: options.publishRatePerSecond,
            timeWindow: 1000,
            // A valid key is the publisher's identity; anything else is limited by address, so random keys buy nothing.
            keyGenerator: (request) => {
              const key = options.identifyApiKey(request.headers.authorization);
              return key === undefined ? `ip:${request.ip}` : `key:${key}`;
            },
            onExceeded: () => options.metrics.limited.inc({ limit: "publish_rate" }),
            errorResponseBuilder: (_request, context) =>
              new ServiceError(
                "RATE_LIMITED",
                `Too many publish requests (limit ${context.max} per second); retry in ${Math.ceil(context.ttl / 1000)} s`,
              ),
          },
        }
      : {}),
  });
  healthRoutes(app, options.health);
  statsRoutes(app, options.stats);
  if (options.webhooks !== undefined) webhookRoutes(app, options.webhooks);
  if (options.webRoot !== undefined) await servePage(app, options.webRoot, options.logger);
  return app;
}

async function servePage(app: FastifyInstance, root: string, logger: Logger): Promise<void> {
  if (!existsSync(root)) {
    // The API works without the page; say how to get it rather than fail.
    logger.warn({ webRoot: root }, "the live payments page is not built; run `npm run build` to serve it at /");
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: "/",
    cacheControl: false,
    // The page's bundles carry a content hash in their names, so they never change under one URL.
    setHeaders: (response, path) => {
      response.setHeader("cache-control", path.includes("/assets/") ? "public, max-age=31536000, immutable" : "no-cache");
    },
  });
}

function toServiceError(error: FastifyError | ServiceError): ServiceError {
  if (error instanceof ServiceError) return error;
  if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") return new ServiceError("PAYLOAD_TOO_LARGE");
  if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return new ServiceError("UNSUPPORTED_MEDIA_TYPE");
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // Fastify's own client errors (bad JSON, wrong content type) keep their message: it names the mistake.
    return new ServiceError("INVALID_BODY", error.message || ERRORS.INVALID_BODY.message);
  }
  return new ServiceError("INTERNAL");
}
