import { existsSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import cors from "@fastify/cors";
import fastifyStatic from "@fastify/static";
import rateLimit from "@fastify/rate-limit";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import { ERRORS, ServiceError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { packageVersion } from "../package-root.js";
import { collectRouteDescriptions, openApiRoutes } from "./openapi/openapi-routes.js";
import type { RefusalLog } from "../limits/refusal-log.js";
import { registerBoundedJsonParser } from "./json-depth.js";
import { registerSecurityHeaders } from "./security-headers.js";
import { rawErrorAnswer, RAW_SECURITY_HEADERS } from "./raw-error-answer.js";
import { healthRoutes, type HealthRoutesOptions } from "./routes/health-routes.js";
import { paymentRoutes, type PaymentRoutesOptions } from "./routes/payment-routes.js";
import { historyRoutes } from "./routes/history-routes.js";
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
  /** Throws unless the request presents a configured API key; asked before any body is read. */
  checkApiKey: (authorization: string | undefined) => void;
  /** The key per-address limits count a client under (IPv6 grouped by prefix). */
  addressGroup: (address: string) => string;
  /** Whole-request deadline (ms), headers and body. */
  requestTimeoutMs: number;
  /** Deepest JSON nesting a body may have. */
  maxJsonDepth: number;
  /** Where refused keys are reported. */
  refusals: RefusalLog;
}

/** Methods that carry a body: on these, the API key is checked before a byte of it is read. */
const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Route config of a route that takes a body from anyone (none does today); every other body-carrying route is keyed. */
export interface PublicBodyRouteConfig {
  publicBody?: boolean;
}

/** The REST side: publish, history, health, stats and metrics, with one error shape for all of them; and the page. */
export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // Node's own deadline for receiving a whole request (headers and body); Fastify leaves it off.
    // It is checked every connectionsCheckingInterval, so that interval is a fraction of it.
    serverFactory: (handler: (request: IncomingMessage, response: ServerResponse) => void) =>
      createServer(
        {
          requestTimeout: options.requestTimeoutMs,
          headersTimeout: options.requestTimeoutMs,
          connectionsCheckingInterval: Math.min(1000, Math.ceil(options.requestTimeoutMs / 4)),
        },
        handler,
      ),
    loggerInstance: options.logger.child({ component: "http" }) as FastifyBaseLogger,
    bodyLimit: options.bodyLimit,
    // Per-request logs at publish rates drown everything else; errors are logged by the handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Open sockets would otherwise hold close() open until they time out.
    forceCloseConnections: "idle",
    return503OnClosing: true,
    trustProxy: (address: string) => options.isTrustedProxy(address),
    // Fastify's own answer to unparsable HTTP has a shape of its own; ours is the catalogue's.
    clientErrorHandler: (error, socket) => answerClientError(error, socket, options.metrics),
    // A URL Fastify cannot decode gets the catalogue's shape and the headers every answer has, not an echo of itself.
    frameworkErrors: (_error, _request, untypedReply) => {
      options.metrics.countError("MALFORMED_REQUEST");
      const reply = untypedReply as FastifyReply;
      void reply
        .code(400)
        .headers(RAW_SECURITY_HEADERS)
        .send({ error: { code: "MALFORMED_REQUEST", message: "The request URL is malformed" } });
    },
  });
  // Content policy per answer below: helmet's one global policy cannot fit both the API and the page.
  registerSecurityHeaders(app, { contentSecurityPolicy: false });
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
  registerBoundedJsonParser(app, options.maxJsonDepth, () => options.metrics.limited.inc({ limit: "json_depth" }));
  // After every onRequest hook (draining, publish rate) and before the body is read: a stranger's body is never parsed.
  app.addHook("preParsing", async (request, _reply, payload) => {
    if (!BODY_METHODS.has(request.method) || request.routeOptions.url === undefined) return payload;
    if ((request.routeOptions.config as PublicBodyRouteConfig).publicBody === true) return payload;
    try {
      options.checkApiKey(request.headers.authorization);
    } catch (error) {
      options.metrics.limited.inc({ limit: "api_key_before_body" });
      options.refusals.refused("api_key", { ip: request.ip, route: request.routeOptions.url }, "refused a request without a valid API key");
      throw error;
    }
    return payload;
  });

  app.setErrorHandler((error: FastifyError | ServiceError, request, reply) => {
    const serviceError = toServiceError(error);
    options.metrics.countError(serviceError.code);
    if (serviceError.code === "INTERNAL") request.log.error({ err: error }, "request failed");
    // Refused before its body arrived: close after answering rather than read (and wait for) a body nobody wants.
    if (!request.raw.complete) void reply.header("connection", "close");
    // Only the catalogue's code and message leave the process: no stack, no internals.
    return reply.code(serviceError.status).send({ error: serviceError.toJSON() });
  });
  app.setNotFoundHandler((request, reply) => {
    options.metrics.countError("NOT_FOUND");
    // The path is echoed (JSON-encoded, under a no-content policy) so a client sees its typo; never a long one.
    const path = (request.url.split("?")[0] ?? "").slice(0, 200);
    reply.code(404).send({ error: { code: "NOT_FOUND", message: `No route for ${request.method} ${path}` } });
  });

  const described = collectRouteDescriptions(app);
  historyRoutes(app, {
    store: options.payments.store,
    ...(options.payments.authorizeHistory === undefined ? {} : { authorizeHistory: options.payments.authorizeHistory }),
    ...(options.payments.historyRateLimit === undefined ? {} : { historyRateLimit: options.payments.historyRateLimit }),
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
              return key === undefined ? `ip:${options.addressGroup(request.ip)}` : `key:${key}`;
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
  openApiRoutes(
    app,
    {
      title: "tributary-ws",
      version: packageVersion(),
      description: "Real-time payment notifications for Tributary: publish payments, read their history, check the node.",
    },
    described,
  );
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

/**
 * Answers what Node could not make a request of: unparsable HTTP (400),
 * headers too large (431), and a request not received within the deadline
 * (408), each in the catalogue's shape with the security headers. Nothing is
 * written when an answer to this connection has already begun.
 */
function answerClientError(error: Error, socket: Socket, metrics: Metrics): void {
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const code = (error as { code?: string }).code;
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") {
    metrics.countError("REQUEST_TIMEOUT");
    metrics.limited.inc({ limit: "request_timeout" });
    socket.end(rawErrorAnswer(408, "REQUEST_TIMEOUT"));
  } else if (code === "HPE_HEADER_OVERFLOW") {
    metrics.countError("PAYLOAD_TOO_LARGE");
    socket.end(rawErrorAnswer(431, "PAYLOAD_TOO_LARGE", "The request headers are too large"));
  } else {
    metrics.countError("MALFORMED_REQUEST");
    socket.end(rawErrorAnswer(400, "MALFORMED_REQUEST"));
  }
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
