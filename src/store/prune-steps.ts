import type { RetentionPolicy } from "./payment-store.js";

/**
 * How far a SQLite prune has got. A prune runs as steps of at most one
 * chunk each, every step a request of its own to the writer, so appends
 * sent meanwhile wait for one step and not for the whole prune: the age
 * bound first (the oldest rows, a chunk at a time), then the count bound.
 *
 * The count bound starts with a step that only chooses how to go on. When
 * an earlier prune kept the same count and went through every tracking ID
 * up to a `seq`, only the tracking IDs with rows past it can hold more than
 * the bound: `count-new` goes through those rows, in `seq` order after
 * `after`, up to `top`. Otherwise `count-all` goes through every tracking ID
 * in key order after `after`. Either ends by recording `top`, the table's
 * last `seq` when the count bound started.
 */
export type PruneCursor =
  | { stage: "age" }
  | { stage: "count" }
  | { stage: "count-all"; after: string; top: number }
  | { stage: "count-new"; after: number; top: number }
  | { stage: "done" };

/** Where a prune under this policy starts. */
export function firstPruneStep(policy: RetentionPolicy): PruneCursor {
  if (policy.receivedBefore !== undefined) return { stage: "age" };
  return countStage(policy);
}

/** The count stage from its start, or done when the policy has no count bound. */
export function countStage(policy: RetentionPolicy): PruneCursor {
  return policy.keepPerTrackingId === undefined ? { stage: "done" } : { stage: "count" };
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
