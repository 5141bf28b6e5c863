/**
 * What one Redis Stream entry may hold, and its translation into a payment.
 *
 * An entry carries its JSON in a field named `message` or `payload`, or in
 * its only field whatever that is called, so a producer that mirrors a Kafka
 * topic field-for-field works unchanged. The JSON is either the event the
 * Tributary indexer publishes to its `tributary_PaymentRecord` topic, or one
 * payment in the service's own publish format (the body of POST /v1/payments).
 */
import { z } from "zod";
import { ServiceError } from "../../errors.js";
import { parsePublishBody } from "../../ingest/payment-request.js";
import type { PaymentInput } from "../../payment.js";
import type { PaymentRecord } from "../../tributary/payment-record.js";
import { POLICY_EVENT_NAMES } from "../../tributary/policy-events.js";
import { parsePolicyStreamMessage, type PolicyStreamEvent } from "./policy-stream-message.js";
import { toPaymentInput, type SkipReason } from "../../tributary/to-payment-input.js";
import { byteArray, describeIssue, issue, i64Schema as i64, pubkeySchema as pubkey, signatureSchema as signature, u64Schema as u64, wholeNumberSchema as wholeNumber } from "./stream-fields.js";

export const MESSAGE_FIELDS = ["message", "payload"] as const;

export type StreamMessageResult =
  | { ok: true; format: "payment_record" | "payment"; payment: PaymentInput }
  /** A policy lifecycle event; its tracking ID is found by the source (memo or policy directory). */
  | { ok: true; format: "policy_event"; policy: PolicyStreamEvent }
  /** Not a payment and never will be; the entry is acknowledged and counted. */
  | { ok: false; skip: true; reason: "empty_memo"; detail: string }
  /** Unreadable as it stands: redelivering it cannot help, so it goes to the dead-letter stream. */
  | { ok: false; skip: false; reason: "malformed"; detail: string };

/** Picks the field holding the JSON out of an entry's flat `[field, value, …]` list. */
export function messageText(fields: readonly string[]): { ok: true; text: string } | { ok: false; detail: string } {
  const byName = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) byName.set(fields[i] as string, fields[i + 1] as string);
  for (const name of MESSAGE_FIELDS) {
    const text = byName.get(name);
    if (text !== undefined) return { ok: true, text };
  }
  const [only] = byName.values();
  if (byName.size === 1 && only !== undefined) return { ok: true, text: only };
  return {
    ok: false,
    detail: `expected a "message" or "payload" field, or exactly one field; got ${byName.size === 0 ? "none" : [...byName.keys()].join(", ")}`,
  };
}

const paymentRecordEvent = z.object({
  event_name: z.literal("PaymentRecord", { error: 'must be "PaymentRecord"' }),
  signature,
  slot: wholeNumber(Number.MAX_SAFE_INTEGER),
  program_id: pubkey.optional(),
  event_index: wholeNumber(Number.MAX_SAFE_INTEGER).optional(),
  data: z.object(
    {
      payment_policy: pubkey,
      gateway: pubkey,
      amount: u64,
      timestamp: i64,
      memo: z.unknown().transform((value, context) => byteArray(value, 64) ?? issue(context, "must be an array of 64 bytes")),
      record_id: wholeNumber(0xffff_ffff),
      payer: pubkey.nullish(),
      recipient: pubkey.nullish(),
      token_mint: pubkey.nullish(),
    },
    { error: "must be an object" },
  ),
});

/**
 * Reads one entry's JSON text.
 *
 * The indexer's Kafka events carry no position within their transaction, so
 * `event_index` is used when the producer adds it and 0 otherwise. A
 * transaction with two PaymentRecord events therefore needs `event_index` on
 * the second, or it is taken for a duplicate of the first. The chain watcher
 * numbers events by their order among the transaction's PaymentRecord events,
 * and a producer that does the same gets identities that agree with it.
 */
export function parseStreamMessage(text: string): StreamMessageResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, skip: false, reason: "malformed", detail: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { ok: false, skip: false, reason: "malformed", detail: "must be one JSON object" };
  }
  if ("event_name" in json) {
    const name = (json as { event_name: unknown }).event_name;
    if (POLICY_EVENT_NAMES.some((policyEvent) => policyEvent === name)) {
      const policy = parsePolicyStreamMessage(json);
      return policy.ok
        ? { ok: true, format: "policy_event", policy: policy.event }
        : { ok: false, skip: false, reason: "malformed", detail: `${String(name)}: ${policy.detail}` };
    }
    return fromPaymentRecordEvent(json);
  }
  try {
    const [payment] = parsePublishBody(json).payments;
    if (payment === undefined) throw new Error("no payment in the message");
    return { ok: true, format: "payment", payment };
  } catch (error) {
    const detail = error instanceof ServiceError ? `${error.code}: ${error.message}` : String(error);
    return { ok: false, skip: false, reason: "malformed", detail };
  }
}

function fromPaymentRecordEvent(json: object): StreamMessageResult {
  const parsed = paymentRecordEvent.safeParse(json);
  if (!parsed.success) return { ok: false, skip: false, reason: "malformed", detail: describeIssue(parsed.error) };
  const event = parsed.data;
  const { payer, recipient, token_mint: tokenMint } = event.data;
  const record: PaymentRecord = {
    layout: payer != null && recipient != null && tokenMint != null ? "current" : "legacy",
    paymentPolicy: event.data.payment_policy,
    gateway: event.data.gateway,
    amount: event.data.amount,
    timestamp: event.data.timestamp,
    memo: event.data.memo,
    recordId: event.data.record_id,
    payer: payer ?? undefined,
    recipient: recipient ?? undefined,
    tokenMint: tokenMint ?? undefined,
  };
  const converted = toPaymentInput(record, { signature: event.signature, eventIndex: event.event_index ?? 0, slot: event.slot });
  if (converted.ok) return { ok: true, format: "payment_record", payment: converted.payment };
  return skipOrMalformed(converted.reason, converted.detail);
}

function skipOrMalformed(reason: SkipReason, detail: string): StreamMessageResult {
  // An empty memo is a payment nobody can subscribe to, as the chain watcher
  // treats it; a memo that is present but unusable is worth an operator's look.
  if (reason === "empty_memo") return { ok: false, skip: true, reason, detail };
  return { ok: false, skip: false, reason: "malformed", detail: `${reason}: ${detail}` };
}
