import { z } from "zod";
import { MAX_BATCH_SIZE, paymentSchema } from "../../ingest/payment-request.js";
import { PAYMENT_STATUSES, TRACKING_ID_MAX_BYTES } from "../../payment.js";

/** The request and response bodies of /v1/payments, as /openapi.json describes them. */

const base58Key = z.string().describe("base58 public key (32 bytes)");

/** The wire form of a stored payment: an item of `GET /v1/payments` and the `data` of a socket `payment` event. */
export const paymentDataSchema = z.object({
  trackingId: z.string().describe(`The payment memo: 1 to ${TRACKING_ID_MAX_BYTES} UTF-8 bytes, no control characters`),
  amount: z.number().describe("The amount as a JSON number, as the public API has it; rounded above 2^53, use amountRaw"),
  amountRaw: z.string().regex(/^(0|[1-9][0-9]{0,19})$/).describe("The exact u64 amount in base units, as a decimal string"),
  timestamp: z.number().int().describe("Chain time, unix seconds"),
  status: z.enum(PAYMENT_STATUSES),
  signature: z.string().describe("base58 Solana transaction signature"),
  id: z.string().describe("Stable identity, `<signature>:<eventIndex>`"),
  offset: z.number().int().min(1).describe("Position in the tracking ID's log: 1, 2, 3 … without gaps"),
  eventIndex: z.number().int().min(0),
  paymentPolicy: base58Key.optional(),
  gateway: base58Key.optional(),
  payer: base58Key.optional(),
  recipient: base58Key.optional(),
  tokenMint: base58Key.optional(),
  recordId: z.number().int().min(0).optional(),
  slot: z.number().int().min(0).optional(),
});

/** One payment or a batch, validated item by item with the publish route's own payment schema. */
export const publishBodySchema = z.union([paymentSchema, z.array(paymentSchema).min(1).max(MAX_BATCH_SIZE)]);

const outcome = z.object({
  id: z.string(),
  trackingId: z.string(),
  offset: z.number().int().min(1),
  duplicate: z.boolean().describe("true: this identity was already stored; nothing was stored or sent again"),
});

export const publishResponseSchema = z.union([
  outcome.extend({ payments: z.array(outcome).length(1) }).describe("A single payment: its outcome, also as the only item of payments"),
  z.object({ payments: z.array(outcome).min(1) }).describe("A batch: one outcome per payment, in input order"),
]);

export const historyResponseSchema = z.object({ payments: z.array(paymentDataSchema) });

const policyStatus = z.enum(["created", "active", "paused", "completed", "deleted"]);

/** The wire form of a stored policy lifecycle event: the `data` of a socket `policy` event. */
export const policyStatusDataSchema = z.object({
  trackingId: z.string().describe("The policy's memo"),
  paymentPolicy: base58Key.describe("The PaymentPolicy account"),
  status: policyStatus,
  previousStatus: policyStatus.optional(),
  signature: z.string().describe("base58 Solana transaction signature"),
  timestamp: z.number().int().describe("Chain time, unix seconds"),
  gateway: base58Key.optional(),
  recipient: base58Key.optional(),
  id: z.string().describe("Stable identity, `<signature>:policy:<eventIndex>`"),
  policyOffset: z.number().int().min(1).describe("Position in the tracking ID's policy log: 1, 2, 3 … without gaps"),
  afterOffset: z.number().int().min(0).describe("The payment offset this event follows"),
  eventIndex: z.number().int().min(0),
  slot: z.number().int().min(0).optional(),
});

/** `GET /v1/history`: payments and policy events in replay order. */
export const mixedHistoryResponseSchema = z.object({
  items: z.array(
    z.union([
      paymentDataSchema.extend({ kind: z.literal("payment") }),
      policyStatusDataSchema.extend({ kind: z.literal("policy") }),
    ]),
  ),
  nextAfter: z.number().int().min(0).describe("`after` for the next page"),
  nextPolicyAfter: z.number().int().min(0).describe("`policyAfter` for the next page"),
});
