import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { SigningSecret } from "./webhook-store.js";

const SECRET_PREFIX = "whsec_";
/** Standard Webhooks allows 24–64 bytes; 32 is HMAC-SHA256's block-size sweet spot. */
const SECRET_BYTES = 32;

/** A new signing secret, `whsec_<base64 of 32 random bytes>`. */
export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString("base64")}`;
}

function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, "base64");
}

/** One `v1,<base64>` entry: HMAC-SHA256 of `<id>.<timestamp>.<body>` (Standard Webhooks). */
export function sign(secret: string, messageId: string, timestampSeconds: number, body: string): string {
  const digest = createHmac("sha256", secretKey(secret)).update(`${messageId}.${timestampSeconds}.${body}`).digest("base64");
  return `v1,${digest}`;
}

/** The `webhook-signature` header: one entry per secret still signing, space-separated, newest first. */
export function signatureHeader(
  secrets: readonly SigningSecret[],
  now: number,
  messageId: string,
  timestampSeconds: number,
  body: string,
): string {
  return secrets
    .filter((entry) => entry.expiresAt === undefined || entry.expiresAt > now)
    .map((entry) => sign(entry.secret, messageId, timestampSeconds, body))
    .join(" ");
}

/** True when one `v1` entry of the header was made with `secret`; compared in constant time. */
export function verifySignature(secret: string, header: string, messageId: string, timestampSeconds: number, body: string): boolean {
  const expected = Buffer.from(sign(secret, messageId, timestampSeconds, body));
  return header.split(" ").some((entry) => {
    const presented = Buffer.from(entry);
    return presented.length === expected.length && timingSafeEqual(presented, expected);
  });
}
