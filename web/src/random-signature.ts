import bs58 from "bs58";

/** A random, well-formed base58 Solana transaction signature (64 bytes), for test payments. */
export function randomSignature(): string {
  return bs58.encode(crypto.getRandomValues(new Uint8Array(64)));
}
