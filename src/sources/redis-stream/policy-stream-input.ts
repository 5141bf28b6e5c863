/** From an indexer policy message to the service's PolicyEventInput: names its policy and tracking ID. */
import type { PolicyEventInput } from "../../policy-event.js";
import type { PolicyDirectory } from "../../ingest/policy-event-sink.js";
import { TRIBUTARY_PROGRAM_ID } from "../../tributary/program-id.js";
import { memoToTrackingId } from "../../tributary/memo.js";
import { paymentPolicyAddress } from "../../tributary/program-address.js";
import type { PolicyStreamEvent } from "./policy-stream-message.js";

export type PolicyStreamInputResult =
  | { ok: true; event: PolicyEventInput }
  | { ok: false; reason: "invalid_memo" | "unknown_policy"; detail: string };

export async function policyInputFromStream(event: PolicyStreamEvent, directory: PolicyDirectory): Promise<PolicyStreamInputResult> {
  const base = { signature: event.signature, eventIndex: event.eventIndex, timestamp: event.timestamp, slot: event.slot };
  if (event.created !== undefined) {
    const memo = memoToTrackingId(event.created.memo);
    if (!memo.ok) return { ok: false, reason: "invalid_memo", detail: memo.detail };
    const paymentPolicy = paymentPolicyAddress(event.created.userPayment, event.created.policyId, event.programId ?? TRIBUTARY_PROGRAM_ID);
    await directory.rememberPolicies([{ paymentPolicy, trackingId: memo.trackingId, source: "created_event" }]);
    return {
      ok: true,
      event: { ...base, trackingId: memo.trackingId, paymentPolicy, status: "created", gateway: event.created.gateway, recipient: event.created.recipient },
    };
  }
  const paymentPolicy = event.paymentPolicy as string;
  const trackingId = (await directory.lookupPolicies([paymentPolicy])).get(paymentPolicy);
  if (trackingId === undefined) {
    return { ok: false, reason: "unknown_policy", detail: `no tracking ID is known for policy ${paymentPolicy}` };
  }
  if (event.newStatus !== undefined) {
    return { ok: true, event: { ...base, trackingId, paymentPolicy, status: event.newStatus, previousStatus: event.oldStatus } };
  }
  return { ok: true, event: { ...base, trackingId, paymentPolicy, status: "deleted" } };
}
