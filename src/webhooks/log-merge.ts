/**
 * How far an endpoint's two cursors (payments and policy events) may move in
 * one step so that, per tracking ID, no message enters the outbox before one
 * that precedes it in the tracking ID's replay order: a policy event goes
 * after payment `afterOffset` and before the next payment (see
 * docs/decisions/webhooks.md). The outbox only orders what it holds, so a
 * message may not be materialised ahead of an earlier one of the other kind.
 */
export interface MergeInput<Position> {
  /** The page of payments past the payment cursor, in log order. */
  payments: ReadonlyArray<{
    position: Position;
    /** Positions of this tracking ID's policy events past the policy cursor that precede this payment. */
    precededBy: readonly Position[];
  }>;
  /** The page of policy events past the policy cursor, in log order. */
  policies: ReadonlyArray<{
    position: Position;
    /** Position of the payment it follows, when that one is past the payment cursor; undefined otherwise. */
    follows: Position | undefined;
  }>;
  paymentCursor: Position;
  policyCursor: Position;
  compare: (a: Position, b: Position) => number;
}

/** How many of each page may be materialised now (prefixes, so each cursor moves forward without gaps). */
export function mergeablePrefixes<Position>(input: MergeInput<Position>): { payments: number; policies: number } {
  const { payments, policies, compare } = input;
  let paymentCount = payments.length;
  let policyCount = policies.length;
  for (;;) {
    const paymentCursor = paymentCount > 0 ? (payments[paymentCount - 1] as (typeof payments)[number]).position : input.paymentCursor;
    let policies2 = 0;
    while (policies2 < policyCount) {
      const follows = (policies[policies2] as (typeof policies)[number]).follows;
      if (follows !== undefined && compare(follows, paymentCursor) > 0) break;
      policies2++;
    }
    const policyCursor = policies2 > 0 ? (policies[policies2 - 1] as (typeof policies)[number]).position : input.policyCursor;
    let payments2 = 0;
    while (payments2 < paymentCount) {
      const precededBy = (payments[payments2] as (typeof payments)[number]).precededBy;
      if (precededBy.some((position) => compare(position, policyCursor) > 0)) break;
      payments2++;
    }
    if (payments2 === paymentCount && policies2 === policyCount) break;
    paymentCount = payments2;
    policyCount = policies2;
  }
  // Each page is in its log's commit order, so the earliest entry of either is
  // always mergeable where commit order is the log order (SQLite). Where it is
  // not quite (PostgreSQL's transaction ids), a cycle is possible: payments
  // then go first, so the log never stalls.
  if (paymentCount === 0 && policyCount === 0 && payments.length > 0) return { payments: payments.length, policies: 0 };
  return { payments: paymentCount, policies: policyCount };
}
