import type { RetentionPolicy } from "./payment-store.js";

/**
 * How far a SQLite prune has got. A prune runs as steps of at most one
 * chunk each, every step a request of its own to the writer, so appends
 * sent meanwhile wait for one step and not for the whole prune: the age
 * bound first (the oldest rows, a chunk at a time), then the count bound
 * (tracking IDs in key order, after `after`).
 */
export type PruneCursor = { stage: "age" } | { stage: "count"; after: string } | { stage: "done" };

/** Where a prune under this policy starts. */
export function firstPruneStep(policy: RetentionPolicy): PruneCursor {
  if (policy.receivedBefore !== undefined) return { stage: "age" };
  return countStage(policy);
}

/** The count stage from its start, or done when the policy has no count bound. */
export function countStage(policy: RetentionPolicy): PruneCursor {
  return policy.keepPerTrackingId === undefined ? { stage: "done" } : { stage: "count", after: "" };
}

export interface PruneStepResult {
  deleted: number;
  next: PruneCursor;
}

/** Runs a prune step by step; resolves with how many rows all steps deleted. */
export async function pruneInSteps(
  policy: RetentionPolicy,
  step: (policy: RetentionPolicy, cursor: PruneCursor) => Promise<PruneStepResult>,
): Promise<number> {
  let deleted = 0;
  for (let cursor = firstPruneStep(policy); cursor.stage !== "done"; ) {
    const result = await step(policy, cursor);
    deleted += result.deleted;
    cursor = result.next;
  }
  return deleted;
}
