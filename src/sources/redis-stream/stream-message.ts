/**
 * What one Redis Stream entry may hold, and its translation into a payment.
 *
 * An entry carries its JSON in a field named `message` or `payload`, or in
 * its only field whatever that is called, so a producer that mirrors a Kafka
 * topic field-for-field works unchanged. The JSON is either the event the
 * Tributary indexer publishes to its `tributary_PaymentRecord` topic, or one
 * payment in the service's own publish format (the body of POST /v1/payments).
 */
import bs58 from "bs58";
import { z } from "zod";
import { ServiceError } from "../../errors.js";
import { parsePublishBody } from "../../ingest/payment-request.js";
import { parseU64, type PaymentInput } from "../../payment.js";
import type { PaymentRecord } from "../solana/payment-record.js";
import { toPaymentInput, type SkipReason } from "../solana/to-payment-input.js";

export const MESSAGE_FIELDS = ["message", "payload"] as const;

export type StreamMessageResult =
  | { ok: true; format: "payment_record" | "payment"; payment: PaymentInput }
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

const issue = (context: z.RefinementCtx, message: string): typeof z.NEVER => {
  context.addIssue({ code: "custom", message });
  return z.NEVER;
};

/** The indexer serialises keys either as base58 text or as the raw 32-byte array. */
const pubkey = z.unknown().transform((value, context): string => {
  if (typeof value === "string") {
    let bytes: Uint8Array;
    try {
      bytes = bs58.decode(value);
    } catch {
      return issue(context, "must be a base58 public key or an array of 32 bytes");
    }
    return bytes.length === 32 ? value : issue(context, "must be a base58 public key (32 bytes)");
  }
  const bytes = byteArray(value, 32);
  return bytes === undefined ? issue(context, "must be a base58 public key or an array of 32 bytes") : bs58.encode(bytes);
});

function byteArray(value: unknown, length: number): Uint8Array | undefined {
  if (!Array.isArray(value) || value.length !== length) return undefined;
  if (!value.every((byte) => Number.isInteger(byte) && byte >= 0 && byte <= 255)) return undefined;
  return Uint8Array.from(value as number[]);
}

const signature = z.string({ error: "must be a base58 transaction signature" }).refine((value) => {
  try {
    return bs58.decode(value).length === 64;
  } catch {
    return false;
  }
}, "must be a base58 transaction signature (64 bytes)");

/** u64 as a decimal string, or a number small enough that JSON.parse kept it exact. */
const u64 = z.unknown().transform((value, context): bigint => {
  const parsed = parseU64(value);
  return parsed ?? issue(context, "must be a u64 as a decimal string (or a safe-integer number)");
});

/** An i64 kept as bigint so the range check happens where the chain watcher does it. */
const i64 = z.unknown().transform((value, context): bigint => {
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^-?(0|[1-9][0-9]{0,18})$/.test(value)) {
    const parsed = BigInt(value);
    if (parsed >= -(2n ** 63n) && parsed < 2n ** 63n) return parsed;
  }
  return issue(context, "must be an i64 as a whole number or decimal string");
});

const wholeNumber = (max: number) =>
  z.unknown().transform((value, context): number => {
    const parsed = typeof value === "string" && /^(0|[1-9][0-9]*)$/.test(value) ? Number(value) : value;
    return typeof parsed === "number" && Number.isSafeInteger(parsed) && parsed >= 0 && parsed <= max
      ? parsed
      : issue(context, `must be a whole number from 0 to ${max}`);
  });

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

function describeIssue(error: z.ZodError): string {
  const first = error.issues[0];
  if (first === undefined) return "is invalid";
  const path = first.path.map(String).join(".");
  return path === "" ? first.message : `${path}: ${first.message}`;
}

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
  if ("event_name" in json) return fromPaymentRecordEvent(json);
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
