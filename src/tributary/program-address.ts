/**
 * Program-derived addresses, as the Solana runtime computes them: the first
 * bump from 255 down whose `sha256(seeds ‖ bump ‖ program ‖
 * "ProgramDerivedAddress")` is not a point on ed25519 (so no private key can
 * exist for it).
 */
import { createHash } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519";
import bs58 from "bs58";
import { PAYMENT_POLICY_SEED } from "./payment-policy-account.js";

const PDA_MARKER = Buffer.from("ProgramDerivedAddress");

function isOnCurve(bytes: Uint8Array): boolean {
  try {
    ed25519.ExtendedPoint.fromHex(bytes);
    return true;
  } catch {
    return false;
  }
}

/** The address for these exact seeds (the bump among them), or undefined when it falls on the curve. */
export function createProgramAddress(seeds: readonly Uint8Array[], programId: string): string | undefined {
  const hash = createHash("sha256");
  for (const seed of seeds) hash.update(seed);
  const candidate = hash.update(bs58.decode(programId)).update(PDA_MARKER).digest();
  return isOnCurve(candidate) ? undefined : bs58.encode(candidate);
}

export function findProgramAddress(seeds: readonly Uint8Array[], programId: string): { address: string; bump: number } {
  for (let bump = 255; bump >= 0; bump--) {
    const address = createProgramAddress([...seeds, Uint8Array.of(bump)], programId);
    if (address !== undefined) return { address, bump };
  }
  throw new Error("no program address found for these seeds");
}

/** The address of the policy `policyId` of a user payment account. */
export function paymentPolicyAddress(userPayment: string, policyId: number, programId: string): string {
  const id = Buffer.alloc(4);
  id.writeUInt32LE(policyId);
  return findProgramAddress([Buffer.from(PAYMENT_POLICY_SEED), bs58.decode(userPayment), id], programId).address;
}
