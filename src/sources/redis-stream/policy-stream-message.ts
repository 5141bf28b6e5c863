/**
 * The indexer's messages for a payment policy's lifecycle, one JSON object
 * per event like its PaymentRecord messages:
 * `{event_name: "PaymentPolicyCreated" | "PaymentPolicyStatusChanged" |
 * "PaymentPolicyDeleted", signature, slot, program_id?, event_index?,
 * block_time?, timestamp?, data: {…the event's fields in snake_case}}`.
 *
 * Keys may be base58 text or 32-byte arrays, the memo a 64-byte array, a
 * status `"Active"`, `"active"` or Anchor's `{active: {}}`. The policy type
 * is not needed (only its memo names the tracking ID) and is not read.
 * Chain time comes from `block_time`, else `timestamp` (seconds; a value in
 * milliseconds is converted).
 */
import { z } from "zod";
import { CHAIN_POLICY_STATUSES, type ChainPolicyStatus, type PolicyEventName } from "../../tributary/policy-events.js";
import { byteArray, describeIssue, i64Schema, pubkeySchema, signatureSchema, wholeNumberSchema } from "./stream-fields.js";

export interface PolicyStreamEvent {
  name: PolicyEventName;
  signature: string;
  slot: number;
  programId: string | undefined;
  eventIndex: number;
  /** Chain time, unix seconds. */
  timestamp: number;
  /** Set for a creation: the data that names the policy and its tracking ID. */
  created?: { userPayment: string; policyId: number; memo: Uint8Array; gateway: string; recipient: string };
  /** Set for a status change or a deletion. */
  paymentPolicy?: string;
  oldStatus?: ChainPolicyStatus;
  newStatus?: ChainPolicyStatus;
}

const status = z.unknown().transform((value, context): ChainPolicyStatus => {
  const name = typeof value === "string" ? value : typeof value === "object" && value !== null ? Object.keys(value)[0] : undefined;
  const lower = name?.toLowerCase();
  const found = CHAIN_POLICY_STATUSES.find((candidate) => candidate === lower);
  if (found !== undefined && (typeof value === "string" || Object.keys(value as object).length === 1)) return found;
  context.addIssue({ code: "custom", message: `must be one of ${CHAIN_POLICY_STATUSES.join(", ")}` });
  return z.NEVER;
});

const envelope = {
  signature: signatureSchema,
  slot: wholeNumberSchema(Number.MAX_SAFE_INTEGER),
  program_id: pubkeySchema.optional(),
  event_index: wholeNumberSchema(Number.MAX_SAFE_INTEGER).optional(),
  block_time: i64Schema.optional(),
  timestamp: i64Schema.optional(),
};

const memo = z.unknown().transform((value, context) => {
  const bytes = byteArray(value, 64);
  if (bytes !== undefined) return bytes;
  context.addIssue({ code: "custom", message: "must be an array of 64 bytes" });
  return z.NEVER;
});

const created = z.object({
  event_name: z.literal("PaymentPolicyCreated"),
  ...envelope,
  data: z.object({ user_payment: pubkeySchema, recipient: pubkeySchema, gateway: pubkeySchema, policy_id: wholeNumberSchema(0xffff_ffff), memo }),
});
const statusChanged = z.object({
  event_name: z.literal("PaymentPolicyStatusChanged"),
  ...envelope,
  data: z.object({ payment_policy: pubkeySchema, old_status: status, new_status: status }),
});
const deleted = z.object({
  event_name: z.literal("PaymentPolicyDeleted"),
  ...envelope,
  data: z.object({ payment_policy: pubkeySchema, owner: pubkeySchema, policy_id: wholeNumberSchema(0xffff_ffff) }),
});
const policyMessage = z.discriminatedUnion("event_name", [created, statusChanged, deleted]);

/** Milliseconds since the epoch are above this; chain seconds stay below it for millennia. */
const SECONDS_LIMIT = 100_000_000_000n;

export type PolicyStreamResult = { ok: true; event: PolicyStreamEvent } | { ok: false; detail: string };

export function parsePolicyStreamMessage(json: object): PolicyStreamResult {
  const parsed = policyMessage.safeParse(json);
  if (!parsed.success) return { ok: false, detail: describeIssue(parsed.error) };
  const message = parsed.data;
  const time = message.block_time ?? message.timestamp;
  if (time === undefined) return { ok: false, detail: "block_time: a chain time (block_time or timestamp) is required" };
  const seconds = time >= SECONDS_LIMIT ? time / 1000n : time;
  if (seconds < 0n || seconds > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, detail: "block_time: out of range" };
  const base = {
    name: message.event_name,
    signature: message.signature,
    slot: message.slot,
    programId: message.program_id,
    eventIndex: message.event_index ?? 0,
    timestamp: Number(seconds),
  };
  switch (message.event_name) {
    case "PaymentPolicyCreated":
      return {
        ok: true,
        event: {
          ...base,
          created: {
            userPayment: message.data.user_payment,
            policyId: message.data.policy_id,
            memo: message.data.memo,
            gateway: message.data.gateway,
            recipient: message.data.recipient,
          },
        },
      };
    case "PaymentPolicyStatusChanged":
      return {
        ok: true,
        event: { ...base, paymentPolicy: message.data.payment_policy, oldStatus: message.data.old_status, newStatus: message.data.new_status },
      };
    case "PaymentPolicyDeleted":
      return { ok: true, event: { ...base, paymentPolicy: message.data.payment_policy } };
  }
}
