import type { RateLimitOptions } from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { ServiceError } from "../../errors.js";
import { paymentNotificationData } from "../../gateway/envelopes.js";
import type { PaymentIngest } from "../../ingest/payment-ingest.js";
import { parsePublishBody } from "../../ingest/payment-request.js";
import { isValidTrackingId } from "../../payment.js";
import type { PaymentStore } from "../../store/payment-store.js";

export const MAX_HISTORY_LIMIT = 1000;

const historyQuery = z.object({
  trackingId: z.string().refine(isValidTrackingId),
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_HISTORY_LIMIT).default(100),
});

export interface PaymentRoutesOptions {
  ingest: PaymentIngest;
  store: PaymentStore;
  checkApiKey: (authorization: string | undefined) => void;
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
  const publishConfig = options.publishRateLimit === undefined ? {} : { config: { rateLimit: options.publishRateLimit } };
  app.post("/v1/payments", publishConfig, async (request) => {
    const startedAt = performance.now();
    options.checkApiKey(request.headers.authorization);
    const { payments, batch } = parsePublishBody(request.body);
    const outcomes = await options.ingest.ingest(payments, "http", startedAt);
    request.log.debug({ count: outcomes.length, stored: outcomes.filter((o) => !o.duplicate).length }, "published");
    // A single payment gets its outcome at the top level as well, so a
    // one-off publisher can read `duplicate` without unwrapping a list.
    return batch || outcomes[0] === undefined ? { payments: outcomes } : { ...outcomes[0], payments: outcomes };
  });

  const historyConfig = options.historyRateLimit === undefined ? {} : { onRequest: options.historyRateLimit };
  app.get("/v1/payments", historyConfig, async (request) => {
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
