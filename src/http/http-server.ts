import { existsSync } from "node:fs";
import cors from "@fastify/cors";
import fastifyStatic from "@fastify/static";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import { ERRORS, ServiceError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { healthRoutes, type HealthRoutesOptions } from "./routes/health-routes.js";
import { paymentRoutes, type PaymentRoutesOptions } from "./routes/payment-routes.js";
import { statsRoutes, type StatsRoutesOptions } from "./routes/stats-routes.js";

export interface HttpServerOptions {
  logger: Logger;
  metrics: Metrics;
  corsOrigins: readonly string[];
  bodyLimit: number;
  payments: PaymentRoutesOptions;
  health: HealthRoutesOptions;
  stats: StatsRoutesOptions;
  /** The built live payments page (web/dist), served at `/` when it exists. */
  webRoot?: string;
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
  });
  await app.register(cors, { origin: options.corsOrigins.includes("*") ? "*" : [...options.corsOrigins] });

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

  paymentRoutes(app, options.payments);
  healthRoutes(app, options.health);
  statsRoutes(app, options.stats);
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
