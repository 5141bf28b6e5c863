/**
 * Where the chain watcher stands: the last transaction whose payments are
 * stored. Kept as JSON through the CheckpointStore.
 */
import { z } from "zod";

export interface ChainCheckpoint {
  /**
   * Null when the watcher started at the tip of a program with no history yet:
   * the slot alone then bounds the backfill.
   */
  signature: string | null;
  slot: number;
}

const checkpointSchema = z.object({
  signature: z.string().min(1).nullable(),
  slot: z.number().int().nonnegative(),
});

export function serializeCheckpoint(checkpoint: ChainCheckpoint): string {
  return JSON.stringify({ signature: checkpoint.signature, slot: checkpoint.slot });
}

/** Throws on anything but a checkpoint this module wrote: guessing a position would skip or replay history. */
export function parseCheckpoint(text: string): ChainCheckpoint {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`Solana checkpoint is not JSON: ${JSON.stringify(text.slice(0, 100))}`);
  }
  const parsed = checkpointSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`Solana checkpoint has an unexpected shape: ${JSON.stringify(text.slice(0, 100))}`);
  }
  return parsed.data;
}
