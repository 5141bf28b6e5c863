import type { PolicyEventInput, PolicyMapping } from "../policy-event.js";

export interface PolicyIngestOutcome {
  id: string;
  trackingId: string;
  policyOffset: number;
  duplicate: boolean;
}

/**
 * The door through which a source hands policy lifecycle events to the core;
 * like the PaymentSink, it resolves only once they are durably stored
 * (and then emitted), so a source may checkpoint after it resolves.
 */
export interface PolicyEventSink {
  ingestPolicyEvents(events: readonly PolicyEventInput[]): Promise<PolicyIngestOutcome[]>;
}

/** Where sources keep and find which tracking ID a payment policy belongs to. */
export interface PolicyDirectory {
  rememberPolicies(mappings: readonly PolicyMapping[]): Promise<void>;
  lookupPolicies(paymentPolicies: readonly string[]): Promise<Map<string, string>>;
  completablePolicies(paymentPolicies: readonly string[]): Promise<Set<string>>;
}
