import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { ServiceError } from "../../errors.js";
import { paymentNotificationData, policyStatusData } from "../../protocol/envelopes.js";
import { isValidTrackingId } from "../../payment.js";
import type { PaymentNotificationData, PolicyStatusData } from "../../protocol/wire.js";
import type { PaymentStore } from "../../store/payment-store.js";
import { errorResponse } from "../openapi/error-response.js";
import type { RouteDescription } from "../openapi/route-description.js";
import { MAX_HISTORY_LIMIT } from "./payment-routes.js";
import { mixedHistoryResponseSchema } from "./payment-schemas.js";

const offset = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0);

const historyQuery = z.object({
  trackingId: z.string().refine(isValidTrackingId).describe("The tracking ID whose log to list"),
  after: offset.describe("List payments with an offset above this one"),
  policyAfter: offset.describe("List policy events with a policy offset above this one"),
  kind: z.enum(["all", "payment", "policy"]).default("all").describe("Which kinds of events to list"),
  limit: z.coerce.number().int().min(1).max(MAX_HISTORY_LIMIT).default(100).describe("The most items to return"),
});

const historyDescription: RouteDescription = {
  operationId: "listHistory",
  summary: "Payments and policy lifecycle events of one tracking ID, in replay order",
  description:
    "The order a `subscribe {since, policySince}` replay sends them. With SUBSCRIBE_AUTH=jwt this needs a publisher's API key " +
    "or a subscription token covering the tracking ID.",
  tags: ["payments"],
  query: historyQuery,
  auth: "optional",
  responses: {
    200: { description: "The items after `after` / `policyAfter`, at most `limit`", schema: mixedHistoryResponseSchema },
    400: errorResponse("A query parameter is invalid", "INVALID_TRACKING_ID", "INVALID_QUERY"),
    401: errorResponse("Subscriber auth is on and the request does not cover the tracking ID", "UNAUTHORIZED"),
    429: errorResponse("Over HISTORY_RATE_PER_SECOND for this address (or HISTORY_KEY_RATE_PER_SECOND for this key)", "RATE_LIMITED"),
    503: errorResponse("The node is draining for shutdown", "SHUTTING_DOWN"),
  },
};

export type HistoryItem = ({ kind: "payment" } & PaymentNotificationData) | ({ kind: "policy" } & PolicyStatusData);

export interface HistoryRoutesOptions {
  store: PaymentStore;
  authorizeHistory?: (authorization: string | undefined, trackingId: string) => Promise<void>;
  /** Runs before the query is parsed; throws to refuse it. Shared with GET /v1/payments. */
  historyRateLimit?: (request: FastifyRequest) => Promise<void>;
}

/**
 * `GET /v1/history`: a tracking ID's payments and policy lifecycle events in
 * the order a `subscribe {since, policySince}` replay sends them (a policy
 * event before the first payment above its `afterOffset`), filterable by
 * kind. `nextAfter` and `nextPolicyAfter` continue the listing.
 * `GET /v1/payments` stays as it was: payments only.
 */
export function historyRoutes(app: FastifyInstance, options: HistoryRoutesOptions): void {
  const historyRateLimit = options.historyRateLimit === undefined ? {} : { onRequest: options.historyRateLimit };
  app.get("/v1/history", { ...historyRateLimit, config: { openapi: historyDescription } }, async (request) => {
    const parsed = historyQuery.safeParse(request.query);
    if (!parsed.success) {
      const field = String(parsed.error.issues[0]?.path[0] ?? "");
      if (field === "trackingId") throw new ServiceError("INVALID_TRACKING_ID", undefined, "trackingId");
      const rule =
        field === "limit"
          ? `must be a whole number from 1 to ${MAX_HISTORY_LIMIT}`
          : field === "kind"
            ? "must be all, payment or policy"
            : "must be a whole number ≥ 0";
      throw new ServiceError("INVALID_QUERY", `${field}: ${rule}`, field);
    }
    const { trackingId, after, policyAfter, kind, limit } = parsed.data;
    await options.authorizeHistory?.(request.headers.authorization, trackingId);
    let payments = kind === "policy" ? [] : await options.store.list({ trackingId, after, limit });
    let policies = kind === "payment" ? [] : await options.store.listPolicyEvents({ trackingId, after: policyAfter, limit });
    // Past a full page of one kind lie unread ones; what follows them waits for the next page.
    const lastPayment = payments[payments.length - 1];
    const lastPolicy = policies[policies.length - 1];
    if (payments.length === limit && lastPayment !== undefined) {
      policies = policies.filter((event) => event.afterOffset <= lastPayment.offset);
    }
    if (policies.length === limit && lastPolicy !== undefined) {
      payments = payments.filter((payment) => payment.offset <= lastPolicy.afterOffset);
    }
    const items: HistoryItem[] = [];
    let nextAfter = after;
    let nextPolicyAfter = policyAfter;
    let p = 0;
    for (const payment of payments) {
      while (items.length < limit && policies[p] !== undefined && policies[p]!.afterOffset < payment.offset) {
        const event = policies[p++]!;
        items.push({ kind: "policy", ...policyStatusData(event) });
        nextPolicyAfter = event.policyOffset;
      }
      if (items.length >= limit) break;
      items.push({ kind: "payment", ...paymentNotificationData(payment) });
      nextAfter = payment.offset;
    }
    while (items.length < limit && policies[p] !== undefined) {
      const event = policies[p++]!;
      items.push({ kind: "policy", ...policyStatusData(event) });
      nextPolicyAfter = event.policyOffset;
    }
    return { items, nextAfter, nextPolicyAfter };
  });
}
