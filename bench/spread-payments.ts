/**
 * The payments the store-only benches fill a store with: the n-th goes to
 * tracking ID n modulo `trackingIds`, with a random-looking signature as on
 * chain (signature-source.ts).
 */
import type { PaymentInput } from "../src/payment.js";
import type { PaymentStore } from "../src/store/payment-store.js";
import { SignatureSource } from "./signature-source.js";

/** The tracking ID the n-th payment goes to. */
export function spreadTrackingId(n: number, trackingIds: number): string {
  return `merchant:order-${n % trackingIds}`;
}

export function spreadPayments(trackingIds: number): (n: number) => PaymentInput {
  const signatures = new SignatureSource();
  return (n) => ({
    trackingId: spreadTrackingId(n, trackingIds),
    amount: 1_000_000n + BigInt(n),
    timestamp: 1_760_000_000,
    status: "executed",
    signature: signatures.next(),
    eventIndex: 0,
  });
}

/** Appends payments `from` … `from + count - 1`, 1,000 to a request. */
export async function appendSpread(store: PaymentStore, payment: (n: number) => PaymentInput, from: number, count: number): Promise<void> {
  for (let done = 0; done < count; done += 1000) {
    await store.append(Array.from({ length: Math.min(1000, count - done) }, (_, k) => payment(from + done + k)));
  }
}
