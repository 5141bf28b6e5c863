/**
 * The request and response shapes of the /v1/webhooks routes, as zod
 * schemas: the routes validate with them, and an OpenAPI document can be
 * generated from them.
 */
import { z } from "zod";
import { isValidTrackingId } from "../payment.js";

const trackingId = z.string().refine(isValidTrackingId, "must be a tracking ID (1–64 bytes of printable UTF-8)");
const base58Key = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, "must be a base58 public key");

export const MAX_FILTER_TRACKING_IDS = 1000;
export const MAX_REPLAY_TRACKING_IDS = 1000;
export const MAX_URL_LENGTH = 2048;

/** Only these kinds of events (`payment`, `policy`); both when absent. */
const types = z.array(z.enum(["payment", "policy"])).min(1).max(2).optional();

/** Which payments and policy events an endpoint receives: exactly one selector, and optionally the kinds. */
export const webhookFilterSchema = z.union([
  z.strictObject({ all: z.literal(true), types }),
  z.strictObject({ trackingIds: z.array(trackingId).min(1).max(MAX_FILTER_TRACKING_IDS), types }),
  z.strictObject({ trackingIdPrefix: z.string().min(1).max(64), types }),
  z.strictObject({ gateway: base58Key, types }),
  z.strictObject({ recipient: base58Key, types }),
]);

const webhookUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).max(MAX_URL_LENGTH);

export const createWebhookRequestSchema = z.strictObject({
  url: webhookUrl,
  filter: webhookFilterSchema,
  description: z.string().max(500).optional(),
});

export const updateWebhookRequestSchema = z
  .strictObject({
    url: webhookUrl.optional(),
    filter: webhookFilterSchema.optional(),
    description: z.string().max(500).optional(),
    enabled: z.boolean().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, "give at least one of url, filter, description, enabled");

export const replayWebhookRequestSchema = z.union([
  z.strictObject({
    /** Per tracking ID, the last offset the receiver processed: everything after it is sent again. */
    since: z
      .record(trackingId, z.number().int().min(0).max(Number.MAX_SAFE_INTEGER))
      .refine((since) => Object.keys(since).length > 0 && Object.keys(since).length <= MAX_REPLAY_TRACKING_IDS, {
        message: `give 1 to ${MAX_REPLAY_TRACKING_IDS} tracking IDs`,
      }),
  }),
  /** Every payment the service received from this time on (ISO 8601) is sent again. */
  z.strictObject({ from: z.iso.datetime({ offset: true }) }),
]);

export const webhookIdParamsSchema = z.object({ id: z.string().min(1).max(64).describe("The endpoint's id, as created") });

export const listDeliveriesQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100).describe("The most attempts to return, newest first"),
});

const isoTime = z.iso.datetime();

export const webhookEndpointResponseSchema = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().optional(),
  filter: webhookFilterSchema,
  enabled: z.boolean(),
  disabledReason: z.string().optional(),
  disabledAt: isoTime.optional(),
  createdAt: isoTime,
  updatedAt: isoTime,
  state: z.object({
    backlog: z.number().int(),
    oldestPendingAgeSeconds: z.number().optional(),
    lastSuccessAt: isoTime.optional(),
    lastFailureAt: isoTime.optional(),
    lastError: z.string().optional(),
    failingSince: isoTime.optional(),
  }),
  /** While a rotated-out secret still signs. */
  previousSecretExpiresAt: isoTime.optional(),
});

export const createdWebhookResponseSchema = webhookEndpointResponseSchema.extend({
  /** The signing secret, shown this once. */
  secret: z.string(),
});

export const listWebhooksResponseSchema = z.object({ webhooks: z.array(webhookEndpointResponseSchema) });

export const rotateSecretResponseSchema = z.object({
  secret: z.string(),
  /** Until then the old secret signs too. */
  previousSecretExpiresAt: isoTime,
});

export const webhookAttemptResponseSchema = z.object({
  messageId: z.string(),
  attempt: z.number().int(),
  attemptedAt: isoTime,
  statusCode: z.number().int().optional(),
  latencyMs: z.number(),
  error: z.string().optional(),
  nextRetryAt: isoTime.optional(),
});

export const listDeliveriesResponseSchema = z.object({ attempts: z.array(webhookAttemptResponseSchema) });
export const replayWebhookResponseSchema = z.object({ queued: z.number().int() });
export const testWebhookResponseSchema = z.object({ messageId: z.string() });

export type CreateWebhookRequest = z.infer<typeof createWebhookRequestSchema>;
export type UpdateWebhookRequest = z.infer<typeof updateWebhookRequestSchema>;
export type ReplayWebhookRequest = z.infer<typeof replayWebhookRequestSchema>;
export type WebhookEndpointResponse = z.infer<typeof webhookEndpointResponseSchema>;
