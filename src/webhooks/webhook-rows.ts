import type { DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEndpoint } from "./webhook-store.js";

/*
 * Rows as both drivers return them. PostgreSQL hands BIGINT over as a string
 * and SQLite as a number; every integer here is a time in ms, a count or an
 * offset, all far below 2^53, so Number() is exact.
 */
type Int = number | string;
type MaybeInt = Int | null;

export interface EndpointRow {
  id: string;
  owner: string;
  url: string;
  description: string | null;
  filter: string;
  secrets: string;
  enabled: number | boolean;
  disabled_reason: string | null;
  disabled_at: MaybeInt;
  cursor: string;
  created_at: Int;
  updated_at: Int;
  failing_since: MaybeInt;
  last_success_at: MaybeInt;
  last_failure_at: MaybeInt;
  last_error: string | null;
}

export interface DeliveryRow {
  endpoint_id: string;
  message_id: string;
  type: string;
  tracking_id: string | null;
  log_offset: MaybeInt;
  policy_offset: Int;
  body: string;
  created_at: Int;
  state: string;
  attempts: Int;
  next_attempt_at: Int;
  lease_owner: string | null;
  lease_expires_at: MaybeInt;
  last_status: MaybeInt;
  last_error: string | null;
  finished_at: MaybeInt;
}

export interface AttemptRow {
  endpoint_id: string;
  message_id: string;
  attempt: Int;
  attempted_at: Int;
  status_code: MaybeInt;
  latency_ms: Int;
  error: string | null;
  next_retry_at: MaybeInt;
  node: string;
}

/** Copies the optional fields that are set, so absent ones stay absent (exactOptionalPropertyTypes-friendly). */
function defined<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null && value !== undefined)) as Partial<T>;
}

const optional = (value: MaybeInt) => (value === null ? undefined : Number(value));

export function toEndpoint(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    owner: row.owner,
    url: row.url,
    filter: JSON.parse(row.filter) as WebhookEndpoint["filter"],
    secrets: JSON.parse(row.secrets) as WebhookEndpoint["secrets"],
    enabled: row.enabled === true || row.enabled === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    ...defined({
      description: row.description ?? undefined,
      disabledReason: row.disabled_reason ?? undefined,
      disabledAt: optional(row.disabled_at),
      failingSince: optional(row.failing_since),
      lastSuccessAt: optional(row.last_success_at),
      lastFailureAt: optional(row.last_failure_at),
      lastError: row.last_error ?? undefined,
    }),
  };
}

export function toDelivery(row: DeliveryRow): WebhookDelivery {
  return {
    endpointId: row.endpoint_id,
    messageId: row.message_id,
    type: row.type,
    trackingId: row.tracking_id,
    offset: optional(row.log_offset) ?? null,
    ...(Number(row.policy_offset) > 0 ? { policyOffset: Number(row.policy_offset) } : {}),
    body: row.body,
    createdAt: Number(row.created_at),
    state: row.state as DeliveryState,
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
    ...defined({
      leaseOwner: row.lease_owner ?? undefined,
      leaseExpiresAt: optional(row.lease_expires_at),
      lastStatus: optional(row.last_status),
      lastError: row.last_error ?? undefined,
      finishedAt: optional(row.finished_at),
    }),
  };
}

export function toAttempt(row: AttemptRow): WebhookAttempt {
  return {
    endpointId: row.endpoint_id,
    messageId: row.message_id,
    attempt: Number(row.attempt),
    attemptedAt: Number(row.attempted_at),
    latencyMs: Number(row.latency_ms),
    node: row.node,
    ...defined({
      statusCode: optional(row.status_code),
      error: row.error ?? undefined,
      nextRetryAt: optional(row.next_retry_at),
    }),
  };
}
