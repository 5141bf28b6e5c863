/** Field readers shared by the stream's message formats (the indexer's JSON events). */
import bs58 from "bs58";
import { z } from "zod";
import { parseU64 } from "../../payment.js";

export const issue = (context: z.RefinementCtx, message: string): typeof z.NEVER => {
  context.addIssue({ code: "custom", message });
  return z.NEVER;
};

/** The indexer serialises keys either as base58 text or as the raw 32-byte array. */
export const pubkeySchema = z.unknown().transform((value, context): string => {
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

export function byteArray(value: unknown, length: number): Uint8Array | undefined {
  if (!Array.isArray(value) || value.length !== length) return undefined;
  if (!value.every((byte) => Number.isInteger(byte) && byte >= 0 && byte <= 255)) return undefined;
  return Uint8Array.from(value as number[]);
}

export const signatureSchema = z.string({ error: "must be a base58 transaction signature" }).refine((value) => {
  try {
    return bs58.decode(value).length === 64;
  } catch {
    return false;
  }
}, "must be a base58 transaction signature (64 bytes)");

/** u64 as a decimal string, or a number small enough that JSON.parse kept it exact. */
export const u64Schema = z.unknown().transform((value, context): bigint => {
  const parsed = parseU64(value);
  return parsed ?? issue(context, "must be a u64 as a decimal string (or a safe-integer number)");
});

/** An i64 kept as bigint so the range check happens where the chain watcher does it. */
export const i64Schema = z.unknown().transform((value, context): bigint => {
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^-?(0|[1-9][0-9]{0,18})$/.test(value)) {
    const parsed = BigInt(value);
    if (parsed >= -(2n ** 63n) && parsed < 2n ** 63n) return parsed;
  }
  return issue(context, "must be an i64 as a whole number or decimal string");
});

export const wholeNumberSchema = (max: number) =>
  z.unknown().transform((value, context): number => {
    const parsed = typeof value === "string" && /^(0|[1-9][0-9]*)$/.test(value) ? Number(value) : value;
    return typeof parsed === "number" && Number.isSafeInteger(parsed) && parsed >= 0 && parsed <= max
      ? parsed
      : issue(context, `must be a whole number from 0 to ${max}`);
  });

export function describeIssue(error: z.ZodError): string {
  const first = error.issues[0];
  if (first === undefined) return "is invalid";
  const path = first.path.map(String).join(".");
  return path === "" ? first.message : `${path}: ${first.message}`;
}

