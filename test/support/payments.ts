import { randomBytes } from "node:crypto";
import bs58 from "bs58";
import type { PaymentInput } from "../../src/payment.js";
import type { PolicyEventInput } from "../../src/policy-event.js";

/** A random, valid base58 transaction signature (64 bytes). */
export function randomSignature(): string {
  return bs58.encode(randomBytes(64));
}

/** A random, valid base58 public key (32 bytes). */
export function randomPubkey(): string {
  return bs58.encode(randomBytes(32));
}

export interface PaymentBody {
  trackingId: string;
  amount: string | number;
  timestamp: number;
  signature: string;
  status?: string;
  eventIndex?: number;
  [field: string]: unknown;
}

/** A publishable payment body with sensible defaults, as a backend would send it. */
export function paymentBody(overrides: Partial<PaymentBody> & { trackingId: string }): PaymentBody {
  return {
    amount: "1000000",
    timestamp: 1_700_000_000,
    signature: randomSignature(),
    status: "executed",
    ...overrides,
  };
}

/** A valid payment as a store receives it (after validation), with sensible defaults. */
export function paymentInput(trackingId: string, overrides: Partial<PaymentInput> = {}): PaymentInput {
  return {
    trackingId,
    amount: 1_000_000n,
    timestamp: 1_700_000_000,
    status: "executed",
    signature: randomSignature(),
    eventIndex: 0,
    ...overrides,
  };
}

/** A valid policy lifecycle event as a store receives it, with sensible defaults. */
export function policyEventInput(trackingId: string, overrides: Partial<PolicyEventInput> = {}): PolicyEventInput {
  return {
    trackingId,
    paymentPolicy: randomPubkey(),
    status: "created",
    signature: randomSignature(),
    eventIndex: 0,
    timestamp: 1_700_000_000,
    ...overrides,
  };
}
