import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { z } from "zod";
import { ServiceError, type ErrorCode } from "../../errors.js";
import type { PaymentStore } from "../../store/payment-store.js";
import type { OutboundPolicy } from "../../webhooks/outbound-policy.js";
import { endpointMessages, testMessage } from "../../webhooks/webhook-messages.js";
import {
  createdWebhookResponseSchema,
  createWebhookRequestSchema,
  listDeliveriesQuerySchema,
  listDeliveriesResponseSchema,
  listWebhooksResponseSchema,
  replayWebhookRequestSchema,
  replayWebhookResponseSchema,
  rotateSecretResponseSchema,
  testWebhookResponseSchema,
  updateWebhookRequestSchema,
  webhookEndpointResponseSchema,
  webhookIdParamsSchema,
  type WebhookEndpointResponse,
} from "../../webhooks/webhook-schemas.js";
import { generateSecret } from "../../webhooks/webhook-signature.js";
import type { WebhookEndpoint, WebhookMessage, WebhookStore } from "../../webhooks/webhook-store.js";
import { errorResponse } from "../openapi/error-response.js";
import type { ResponseDescription, RouteDescription } from "../openapi/route-description.js";

/** Messages one replay request may queue; a larger replay is asked for in parts. */
export const MAX_REPLAY_MESSAGES = 10_000;
/** Standard Webhooks' rotation window: the old secret signs beside the new one for a day. */
const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

/** The answers every webhook route can give; each route adds its own. */
const common: Readonly<Record<number, ResponseDescription>> = {
  401: errorResponse("No valid API key, or no API key is configured", "UNAUTHORIZED", "PUBLISHING_DISABLED"),
  503: errorResponse("The node is draining for shutdown", "SHUTTING_DOWN"),
};
/** Another key's endpoint is not found either: which ids exist is not told. */
const notFound = errorResponse("No endpoint with this id belongs to the presented API key", "NOT_FOUND");
const badId = errorResponse("The id is longer than 64 characters", "INVALID_QUERY");
const bodyLimits: Readonly<Record<number, ResponseDescription>> = {
  413: errorResponse("The body is larger than MAX_BODY_BYTES", "PAYLOAD_TOO_LARGE"),
  415: errorResponse("The body is not application/json", "UNSUPPORTED_MEDIA_TYPE"),
};
const tags = ["webhooks"] as const;

const createDescription: RouteDescription = {
  operationId: "createWebhook",
  summary: "Register a webhook endpoint",
  description: "The answer carries the signing secret, shown this once. See docs/webhooks.md.",
  tags,
  auth: "required",
  body: createWebhookRequestSchema,
  responses: {
    201: { description: "Registered", schema: createdWebhookResponseSchema },
    400: errorResponse("The body is invalid, or the URL is refused by the outbound policy", "INVALID_BODY", "WEBHOOK_URL_REFUSED"),
    409: errorResponse("The key has WEBHOOK_MAX_ENDPOINTS_PER_KEY endpoints already", "WEBHOOK_LIMIT"),
    ...bodyLimits,
    ...common,
  },
};

const listDescription: RouteDescription = {
  operationId: "listWebhooks",
  summary: "The webhook endpoints of the presented API key",
  tags,
  auth: "required",
  responses: { 200: { description: "Every endpoint of the key", schema: listWebhooksResponseSchema }, ...common },
};

const getDescription: RouteDescription = {
  operationId: "getWebhook",
  summary: "One webhook endpoint, with its delivery state",
  tags,
  auth: "required",
  params: webhookIdParamsSchema,
  responses: {
    200: { description: "The endpoint", schema: webhookEndpointResponseSchema },
    400: badId,
    404: notFound,
    ...common,
  },
};

const updateDescription: RouteDescription = {
  operationId: "updateWebhook",
  summary: "Change a webhook endpoint's URL, filter, description, or enable it again",
  tags,
  auth: "required",
  params: webhookIdParamsSchema,
  body: updateWebhookRequestSchema,
  responses: {
    200: { description: "The endpoint as changed", schema: webhookEndpointResponseSchema },
    400: errorResponse(
      "The id or the body is invalid, or the URL is refused by the outbound policy",
      "INVALID_QUERY",
      "INVALID_BODY",
      "WEBHOOK_URL_REFUSED",
    ),
    404: notFound,
    ...bodyLimits,
    ...common,
  },
};

const deleteDescription: RouteDescription = {
  operationId: "deleteWebhook",
  summary: "Remove a webhook endpoint and its undelivered messages",
  tags,
  auth: "required",
  params: webhookIdParamsSchema,
  responses: { 204: { description: "Removed" }, 400: badId, 404: notFound, ...common },
};

const rotateDescription: RouteDescription = {
  operationId: "rotateWebhookSecret",
  summary: "Issue a new signing secret; the old one signs beside it for 24 hours",
  tags,
  auth: "required",
  params: webhookIdParamsSchema,
  responses: {
    200: { description: "The new secret, shown this once", schema: rotateSecretResponseSchema },
    400: badId,
    404: notFound,
    ...common,
  },
};

const testDescription: RouteDescription = {
  operationId: "testWebhook",
  summary: "Queue a `webhook.test` message to the endpoint",
  tags,
  auth: "required",
  params: webhookIdParamsSchema,
  responses: {
    202: { description: "Queued; its attempts show in the deliveries", schema: testWebhookResponseSchema },
    400: badId,
    404: notFound,
    ...common,
  },
};

const deliveriesDescription: RouteDescription = {
  operationId: "listWebhookDeliveries",
  summary: "The endpoint's latest delivery attempts, newest first",
  tags,
  auth: "required",
  params: webhookIdParamsSchema,
  query: listDeliveriesQuerySchema,
  responses: {
    200: { description: "At most `limit` attempts", schema: listDeliveriesResponseSchema },
    400: errorResponse("The id or `limit` is invalid", "INVALID_QUERY"),
    404: notFound,
    ...common,
  },
};

const replayDescription: RouteDescription = {
  operationId: "replayWebhook",
  summary: "Send stored payments to the endpoint again",
  description: `Either after given offsets per tracking ID, or from a time on; at most ${MAX_REPLAY_MESSAGES} messages per request.`,
  tags,
  auth: "required",
  params: webhookIdParamsSchema,
  body: replayWebhookRequestSchema,
  responses: {
    202: { description: "Queued", schema: replayWebhookResponseSchema },
    400: errorResponse("The id or the body is invalid", "INVALID_QUERY", "INVALID_BODY"),
    404: notFound,
    ...bodyLimits,
    ...common,
  },
};

export interface WebhookRoutesOptions {
  store: WebhookStore;
  payments: Pick<PaymentStore, "list" | "listPolicyEvents">;
  /** The owner identifier of the presented API key; throws UNAUTHORIZED / PUBLISHING_DISABLED. */
  owner: (authorization: string | undefined) => string;
  policy: OutboundPolicy;
  maxEndpointsPerKey: number;
  /** Told when there is something new to deliver or an endpoint to deliver to, so it goes out now rather than on the next poll. */
  onQueued: () => void;
  now?: () => number;
}

function parse<S extends z.ZodType>(schema: S, value: unknown, code: ErrorCode): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.join(".") ?? "";
  throw new ServiceError(code, path === "" ? (issue?.message ?? "invalid") : `${path}: ${issue?.message ?? "invalid"}`, path || undefined);
}

const iso = (time: number | undefined) => (time === undefined ? undefined : new Date(time).toISOString());

export function webhookRoutes(app: FastifyInstance, options: WebhookRoutesOptions): void {
  const { store } = options;
  const now = options.now ?? Date.now;

  const checkUrl = (url: string) => {
    const refusal = options.policy.refuseUrl(new URL(url));
    if (refusal !== undefined) throw new ServiceError("WEBHOOK_URL_REFUSED", `The webhook URL is refused: ${refusal}`, "url");
  };

  /** Another key's endpoint answers exactly like a missing one. */
  const owned = async (authorization: string | undefined, params: unknown): Promise<WebhookEndpoint> => {
    const owner = options.owner(authorization);
    const { id } = parse(webhookIdParamsSchema, params, "INVALID_QUERY");
    const endpoint = await store.getEndpoint(id);
    if (endpoint === undefined || endpoint.owner !== owner) throw new ServiceError("NOT_FOUND", "No webhook endpoint with this id");
    return endpoint;
  };

  const describe = async (endpoint: WebhookEndpoint): Promise<WebhookEndpointResponse> => {
    const backlog = await store.backlog(endpoint.id);
    const previous = endpoint.secrets[1]?.expiresAt;
    const clean = <T extends object>(value: T) =>
      Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
    return clean({
      id: endpoint.id,
      url: endpoint.url,
      description: endpoint.description,
      filter: endpoint.filter,
      enabled: endpoint.enabled,
      disabledReason: endpoint.disabledReason,
      disabledAt: iso(endpoint.disabledAt),
      createdAt: iso(endpoint.createdAt) as string,
      updatedAt: iso(endpoint.updatedAt) as string,
      state: clean({
        backlog: backlog.pending,
        oldestPendingAgeSeconds:
          backlog.oldestPendingAt === undefined ? undefined : Math.max(0, Math.round((now() - backlog.oldestPendingAt) / 1000)),
        lastSuccessAt: iso(endpoint.lastSuccessAt),
        lastFailureAt: iso(endpoint.lastFailureAt),
        lastError: endpoint.lastError,
        failingSince: iso(endpoint.failingSince),
      }),
      previousSecretExpiresAt: previous !== undefined && previous > now() ? iso(previous) : undefined,
    });
  };

  app.post("/v1/webhooks", { config: { openapi: createDescription } }, async (request, reply) => {
    const owner = options.owner(request.headers.authorization);
    const body = parse(createWebhookRequestSchema, request.body, "INVALID_BODY");
    checkUrl(body.url);
    if ((await store.countEndpoints(owner)) >= options.maxEndpointsPerKey) {
      throw new ServiceError("WEBHOOK_LIMIT", `This API key may register at most ${options.maxEndpointsPerKey} webhook endpoints`);
    }
    const secret = generateSecret();
    const endpoint = await store.createEndpoint({
      id: `ep_${randomBytes(12).toString("base64url")}`,
      owner,
      url: body.url,
      filter: body.filter,
      secrets: [{ secret }],
      createdAt: now(),
      ...(body.description === undefined ? {} : { description: body.description }),
    });
    request.log.info({ endpointId: endpoint.id, url: endpoint.url }, "webhook endpoint created");
    options.onQueued();
    return reply.code(201).send({ ...(await describe(endpoint)), secret });
  });

  app.get("/v1/webhooks", { config: { openapi: listDescription } }, async (request) => {
    const endpoints = await store.listEndpoints(options.owner(request.headers.authorization));
    return { webhooks: await Promise.all(endpoints.map(describe)) };
  });

  app.get("/v1/webhooks/:id", { config: { openapi: getDescription } }, async (request) => describe(await owned(request.headers.authorization, request.params)));

  app.patch("/v1/webhooks/:id", { config: { openapi: updateDescription } }, async (request) => {
    const endpoint = await owned(request.headers.authorization, request.params);
    const body = parse(updateWebhookRequestSchema, request.body, "INVALID_BODY");
    if (body.url !== undefined) checkUrl(body.url);
    const updated = await store.updateEndpoint(endpoint.id, body, now());
    if (updated === undefined) throw new ServiceError("NOT_FOUND", "No webhook endpoint with this id");
    options.onQueued();
    return describe(updated);
  });

  app.delete("/v1/webhooks/:id", { config: { openapi: deleteDescription } }, async (request, reply) => {
    const endpoint = await owned(request.headers.authorization, request.params);
    await store.deleteEndpoint(endpoint.id);
    return reply.code(204).send();
  });

  app.post("/v1/webhooks/:id/rotate-secret", { config: { openapi: rotateDescription } }, async (request) => {
    const endpoint = await owned(request.headers.authorization, request.params);
    const current = endpoint.secrets[0];
    const secret = generateSecret();
    const previousSecretExpiresAt = now() + ROTATION_OVERLAP_MS;
    // Only the newest old secret keeps signing: a second rotation within a day retires the first at once.
    const secrets = current === undefined ? [{ secret }] : [{ secret }, { secret: current.secret, expiresAt: previousSecretExpiresAt }];
    await store.updateEndpoint(endpoint.id, { secrets }, now());
    return { secret, previousSecretExpiresAt: iso(previousSecretExpiresAt) };
  });

  app.post("/v1/webhooks/:id/test", { config: { openapi: testDescription } }, async (request, reply) => {
    const endpoint = await owned(request.headers.authorization, request.params);
    const message = testMessage(endpoint.id, now());
    await store.enqueue([message], now());
    options.onQueued();
    return reply.code(202).send({ messageId: message.messageId });
  });

  app.get("/v1/webhooks/:id/deliveries", { config: { openapi: deliveriesDescription } }, async (request) => {
    const endpoint = await owned(request.headers.authorization, request.params);
    const { limit } = parse(listDeliveriesQuerySchema, request.query, "INVALID_QUERY");
    const attempts = await store.listAttempts(endpoint.id, limit);
    return {
      attempts: attempts.map((attempt) =>
        Object.fromEntries(
          Object.entries({
            messageId: attempt.messageId,
            attempt: attempt.attempt,
            attemptedAt: iso(attempt.attemptedAt),
            statusCode: attempt.statusCode,
            latencyMs: attempt.latencyMs,
            error: attempt.error,
            nextRetryAt: iso(attempt.nextRetryAt),
          }).filter(([, value]) => value !== undefined),
        ),
      ),
    };
  });

  app.post("/v1/webhooks/:id/replay", { config: { openapi: replayDescription } }, async (request, reply) => {
    const endpoint = await owned(request.headers.authorization, request.params);
    const body = parse(replayWebhookRequestSchema, request.body, "INVALID_BODY");
    const build = endpointMessages(endpoint, now);
    let queued: number;
    if ("from" in body) {
      queued = await store.replayFrom(endpoint.id, Date.parse(body.from), build, MAX_REPLAY_MESSAGES, now());
    } else {
      const messages: WebhookMessage[] = [];
      for (const [trackingId, after] of Object.entries(body.since)) {
        for (let offset = after; messages.length < MAX_REPLAY_MESSAGES; ) {
          const page = await options.payments.list({ trackingId, after: offset, limit: 500 });
          for (const payment of page) {
            const message = build(payment);
            if (message !== undefined && messages.length < MAX_REPLAY_MESSAGES) messages.push(message);
          }
          const last = page.at(-1);
          if (last === undefined || page.length < 500) break;
          offset = last.offset;
        }
        // The policy events a socket replay from the same offset gives: those stored after payment `after` or later.
        for (let policyOffset = 0; messages.length < MAX_REPLAY_MESSAGES; ) {
          const page = await options.payments.listPolicyEvents({ trackingId, after: policyOffset, fromPaymentOffset: after, limit: 500 });
          for (const event of page) {
            const message = build(event);
            if (message !== undefined && messages.length < MAX_REPLAY_MESSAGES) messages.push(message);
          }
          const last = page.at(-1);
          if (last === undefined || page.length < 500) break;
          policyOffset = last.policyOffset;
        }
      }
      await store.enqueue(messages, now());
      queued = messages.length;
    }
    options.onQueued();
    return reply.code(202).send({ queued });
  });
}
