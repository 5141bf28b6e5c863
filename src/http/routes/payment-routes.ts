import type { RateLimitOptions } from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { ServiceError } from "../../errors.js";
import { paymentNotificationData } from "../../protocol/envelopes.js";
import type { PaymentIngest } from "../../ingest/payment-ingest.js";
import { parsePublishBody } from "../../ingest/payment-request.js";
import { isValidTrackingId } from "../../payment.js";
import type { PaymentStore } from "../../store/payment-store.js";
import { errorResponse } from "../openapi/error-response.js";
import type { RouteDescription } from "../openapi/route-description.js";
import { historyResponseSchema, publishBodySchema, publishResponseSchema } from "./payment-schemas.js";

export const MAX_HISTORY_LIMIT = 1000;

const historyQuery = z.object({
  trackingId: z.string().refine(isValidTrackingId).describe("The tracking ID whose payments to list"),
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0).describe("List payments with an offset above this one"),
  limit: z.coerce.number().int().min(1).max(MAX_HISTORY_LIMIT).default(100).describe("The most payments to return"),
});

const shuttingDown = errorResponse("The node is draining for shutdown", "SHUTTING_DOWN");

const publishDescription: RouteDescription = {
  operationId: "publishPayments",
  summary: "Publish one payment or a batch",
  description:
    "Stores each payment durably, then sends it to the subscribers of its tracking ID. A batch is all-or-nothing. " +
    "Publishing a stored identity (signature, eventIndex) again stores and sends nothing and answers duplicate: true.",
  tags: ["payments"],
  body: publishBodySchema,
  auth: "required",
  responses: {
    200: { description: "Stored (or already stored) and sent", schema: publishResponseSchema },
    400: errorResponse("The body is not a valid payment or batch", "INVALID_PAYMENT", "INVALID_TRACKING_ID", "INVALID_BODY"),
    401: errorResponse("No valid API key, or publishing is not configured", "UNAUTHORIZED", "PUBLISHING_DISABLED"),
    409: errorResponse("The identity is already stored with a different content", "IDENTITY_CONFLICT"),
    413: errorResponse("The body is larger than MAX_BODY_BYTES", "PAYLOAD_TOO_LARGE"),
    415: errorResponse("The body is not application/json", "UNSUPPORTED_MEDIA_TYPE"),
    429: errorResponse("Over PUBLISH_RATE_PER_SECOND for this key (or address)", "RATE_LIMITED"),
    503: errorResponse("The store cannot take writes, or the node is draining", "STORE_UNAVAILABLE", "SHUTTING_DOWN"),
  },
};

const historyDescription: RouteDescription = {
  operationId: "listPayments",
  summary: "Stored payments of one tracking ID, in offset order",
  description: "With SUBSCRIBE_AUTH=jwt this needs a publisher's API key or a subscription token covering the tracking ID.",
  tags: ["payments"],
  query: historyQuery,
  auth: "optional",
  responses: {
    200: { description: "The payments after `after`, at most `limit`", schema: historyResponseSchema },
    400: errorResponse("A query parameter is invalid", "INVALID_TRACKING_ID", "INVALID_QUERY"),
    401: errorResponse("Subscriber auth is on and the request does not cover the tracking ID", "UNAUTHORIZED"),
    429: errorResponse("Over HISTORY_RATE_PER_SECOND for this address (or HISTORY_KEY_RATE_PER_SECOND for this key)", "RATE_LIMITED"),
    503: shuttingDown,
  },
};

export interface PaymentRoutesOptions {
  ingest: PaymentIngest;
  store: PaymentStore;
  /**
   * With subscriber auth on, a tracking ID's history is as private as its
   * live stream; throws when the request may not read it.
   */
  authorizeHistory?: (authorization: string | undefined, trackingId: string) => Promise<void>;
  /** Applied to POST /v1/payments only. */
  publishRateLimit?: RateLimitOptions;
  /** Runs before a history read's query is parsed; throws to refuse it. */
  historyRateLimit?: (request: FastifyRequest) => Promise<void>;
}

export function paymentRoutes(app: FastifyInstance, options: PaymentRoutesOptions): void {
  const rateLimitConfig = options.publishRateLimit === undefined ? {} : { rateLimit: options.publishRateLimit };
  app.post("/v1/payments", { config: { ...rateLimitConfig, openapi: publishDescription } }, async (request) => {
    const startedAt = performance.now();
    const { payments, batch } = parsePublishBody(request.body);
    const outcomes = await options.ingest.ingest(payments, "http", startedAt);
    // The count is only worth its pass over the outcomes when debug is on.
    if (request.log.level === "debug" || request.log.level === "trace") {
      request.log.debug({ count: outcomes.length, stored: outcomes.filter((o) => !o.duplicate).length }, "published");
    }
    // A single payment gets its outcome at the top level as well, so a
    // one-off publisher can read `duplicate` without unwrapping a list.
    return batch || outcomes[0] === undefined ? { payments: outcomes } : { ...outcomes[0], payments: outcomes };
  });

  const historyRateLimit = options.historyRateLimit === undefined ? {} : { onRequest: options.historyRateLimit };
  app.get("/v1/payments", { ...historyRateLimit, config: { openapi: historyDescription } }, async (request) => {
    const parsed = historyQuery.safeParse(request.query);
    if (!parsed.success) {
      const field = String(parsed.error.issues[0]?.path[0] ?? "");
      if (field === "trackingId") throw new ServiceError("INVALID_TRACKING_ID", undefined, "trackingId");
      throw new ServiceError(
        "INVALID_QUERY",
        field === "limit"
          ? `limit: must be a whole number from 1 to ${MAX_HISTORY_LIMIT}`
          : `${field}: must be a whole number ≥ 0`,
        field,
      );
    }
    await options.authorizeHistory?.(request.headers.authorization, parsed.data.trackingId);
    const payments = await options.store.list(parsed.data);
    return { payments: payments.map(paymentNotificationData) };
  });
}
