import { z } from "zod";
import { ERRORS, ServiceError } from "../errors.js";
import { isValidTrackingId, parseU64, PAYMENT_STATUSES, TRACKING_ID_MAX_BYTES, type PaymentInput } from "../payment.js";
import { isBase58Of as hasBase58Length } from "./base58.js";
import { readValidPayment } from "./common-payment.js";

/** The most payments one publish request may carry. */
export const MAX_BATCH_SIZE = 1000;

function isBase58Of(bytes: number) {
  return (value: string): boolean => hasBase58Length(value, bytes);
}

const pubkey = z.string().refine(isBase58Of(32), "must be a base58 public key (32 bytes)").describe("base58 public key (32 bytes)");
const safeUnsigned = (what: string) =>
  z.number({ error: `must be ${what}` }).int(`must be ${what}`).min(0, `must be ${what}`).max(Number.MAX_SAFE_INTEGER, `must be ${what}`);

/** One payment of a publish body; /openapi.json describes the body with this same schema. */
export const paymentSchema = z.strictObject(
  {
    trackingId: z
      .unknown()
      .refine(isValidTrackingId, ERRORS.INVALID_TRACKING_ID.message)
      .transform((value) => value as string)
      .meta({
        type: "string",
        minLength: 1,
        description: `The payment memo subscribers watch: 1 to ${TRACKING_ID_MAX_BYTES} UTF-8 bytes, no control characters`,
      }),
    amount: z
      .unknown()
      .transform((value, context) => {
        const parsed = parseU64(value);
        if (parsed === undefined) {
          context.addIssue({
            code: "custom",
            message: "must be a u64: a decimal string or a safe-integer number from 0 to 18446744073709551615",
          });
          return z.NEVER;
        }
        return parsed;
      })
      .meta({
        anyOf: [
          { type: "string", pattern: "^(0|[1-9][0-9]{0,19})$" },
          { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        ],
        description: "u64 in base units: a decimal string (exact) or a safe-integer number; no sign, exponent or fraction",
      }),
    timestamp: safeUnsigned("unix seconds (a whole number ≥ 0)").describe("Chain time, unix seconds"),
    status: z.enum(PAYMENT_STATUSES, { error: `must be one of ${PAYMENT_STATUSES.join(", ")}` }).default("executed"),
    signature: z
      .string({ error: "must be a string" })
      .refine(isBase58Of(64), "must be a base58 transaction signature (64 bytes)")
      .describe("base58 Solana transaction signature (64 bytes); with eventIndex, the payment's identity"),
    eventIndex: safeUnsigned("a whole number ≥ 0").default(0).describe("Position among the transaction's payment events"),
    paymentPolicy: pubkey.optional(),
    gateway: pubkey.optional(),
    payer: pubkey.optional(),
    recipient: pubkey.optional(),
    tokenMint: pubkey.optional(),
    recordId: safeUnsigned("a u32").max(0xffff_ffff, "must be a u32").optional(),
    slot: safeUnsigned("a slot number (a whole number ≥ 0)").optional(),
  },
  { error: "must be a payment object" },
);

function toServiceError(issue: z.core.$ZodIssue | undefined, item: unknown, prefix: PropertyKey[]): ServiceError {
  let fieldPath: PropertyKey[] = [...(issue?.path ?? [])];
  let message = issue?.message ?? "is invalid";
  if (issue?.code === "unrecognized_keys") {
    fieldPath = [...fieldPath, issue.keys[0] ?? ""];
    message = "is not a payment field";
  } else if (fieldPath.length === 1 && typeof item === "object" && item !== null && !(String(fieldPath[0]) in item)) {
    message = "is required";
  }
  const path = formatPath([...prefix, ...fieldPath]);
  const code = fieldPath[0] === "trackingId" ? "INVALID_TRACKING_ID" : "INVALID_PAYMENT";
  return new ServiceError(code, path === "" ? message : `${path}: ${message}`, path);
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((key, index) => (typeof key === "number" ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`)).join("");
}

/**
 * Validates a publish request body: one payment object, or an array of 1 to
 * {@link MAX_BATCH_SIZE}. Throws a {@link ServiceError} naming the first bad
 * field; nothing is returned for a body with any bad item, so a batch is
 * all-or-nothing.
 */
export function parsePublishBody(body: unknown): { payments: PaymentInput[]; batch: boolean } {
  const batch = Array.isArray(body);
  const items: unknown[] = batch ? (body as unknown[]) : [body];
  if (batch && items.length === 0) throw new ServiceError("INVALID_BODY", "The batch is empty");
  if (items.length > MAX_BATCH_SIZE) {
    throw new ServiceError("INVALID_BODY", `A batch holds at most ${MAX_BATCH_SIZE} payments, got ${items.length}`);
  }
  const payments: PaymentInput[] = [];
  for (const [index, item] of items.entries()) {
    const valid = readValidPayment(item);
    if (valid !== undefined) {
      payments.push(valid);
      continue;
    }
    const parsed = paymentSchema.safeParse(item);
    if (!parsed.success) throw toServiceError(parsed.error.issues[0], item, batch ? [index] : []);
    payments.push(parsed.data);
  }
  return { payments, batch };
}
