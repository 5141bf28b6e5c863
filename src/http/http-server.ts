import cors from "@fastify/cors";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import { ERRORS, ServiceError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { healthRoutes, type HealthRoutesOptions } from "./routes/health-routes.js";
import { paymentRoutes, type PaymentRoutesOptions } from "./routes/payment-routes.js";

export interface HttpServerOptions {
  logger: Logger;
  metrics: Metrics;
  corsOrigins: readonly string[];
  bodyLimit: number;
  payments: PaymentRoutesOptions;
  health: HealthRoutesOptions;
}

/** The REST side: publish, history, health and metrics, with one error shape for all of them. */
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
  return app;
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
