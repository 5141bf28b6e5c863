/**
 * From decoded policy lifecycle events to the service's PolicyEventInput:
 * finds each event's tracking ID.
 *
 * Only PaymentPolicyCreated carries the memo; the other events name the
 * policy account. Its tracking ID comes from the directory (learned from a
 * creation event or from a payment of the policy), or else from the account
 * itself (getAccountInfo), which exists until the policy is deleted; so a
 * policy created before the service first ran is still attributed, and a
 * deletion after a restart finds the mapping kept in the store.
 */
import type { Logger } from "pino";
import type { PaymentInput } from "../../payment.js";
import type { PolicyEventInput, PolicyMapping } from "../../policy-event.js";
import type { PolicyDirectory } from "../../ingest/policy-event-sink.js";
import { memoToTrackingId } from "../../tributary/memo.js";
import { decodePaymentPolicyAccount, type PaymentPolicyAccount } from "../../tributary/payment-policy-account.js";
import { ZERO_PUBKEY } from "../../tributary/payment-record.js";
import type { LoggedPolicyEvent } from "./payments-from-logs.js";
import { mayComplete } from "../../tributary/policy-type.js";
import { paymentPolicyAddress } from "../../tributary/program-address.js";
import type { AccountInfo } from "./solana-rpc.js";
import type { PolicyEventOutcome, WatcherMetrics } from "./watcher-metrics.js";

export interface PolicyResolverOptions {
  directory: PolicyDirectory;
  /** Reads an account; null when it does not exist. */
  getAccount: (address: string) => Promise<AccountInfo | null>;
  programId: string;
  metrics: WatcherMetrics;
  logger: Logger;
}

/** A policy event with the transaction it came from. */
export interface PolicyEventAt extends LoggedPolicyEvent {
  signature: string;
  slot: number;
  /** Chain time of the block, unix seconds. */
  blockTime: number;
}

/**
 * A completion the program made without an event is stored under the
 * payment's signature with this added to the payment's event index: the
 * transaction has no policy events of its own, and the identity stays the
 * same however often the payment is processed.
 */
export const COMPLETION_INDEX_BASE = 1_000_000;

export class PolicyResolver {
  constructor(private readonly options: PolicyResolverOptions) {}

  /**
   * Remembers the policy of each payment (a one-time transfer has none). A
   * policy seen for the first time has its account read once, for its type:
   * whether the program may end it by itself decides whether its payments
   * are followed by a look at its status (see {@link completionsAfter}).
   */
  async learnFromPayments(payments: readonly PaymentInput[]): Promise<void> {
    const byPolicy = new Map<string, PaymentInput>();
    for (const payment of payments) {
      const policy = payment.paymentPolicy;
      if (policy !== undefined && policy !== ZERO_PUBKEY && !byPolicy.has(policy)) byPolicy.set(policy, payment);
    }
    if (byPolicy.size === 0) return;
    const known = await this.options.directory.lookupPolicies([...byPolicy.keys()]);
    const mappings: PolicyMapping[] = [];
    for (const [policy, payment] of byPolicy) {
      if (known.has(policy)) continue;
      const account = await this.readAccount(policy);
      mappings.push({
        paymentPolicy: policy,
        trackingId: payment.trackingId,
        source: "payment",
        mayComplete: account === undefined ? undefined : mayComplete(account.policyType),
      });
    }
    await this.options.directory.rememberPolicies(mappings);
  }

  /**
   * The program ends a policy inside execute_payment (max_renewals reached,
   * the last milestone, a one-time payment) by setting its status, with no
   * status event. For payments of policies that may end so, the account is
   * read: `completed`, with a payment count equal to the payment's record id
   * (so no later payment could have done it), is reported as a completion
   * right after that payment, under an identity of its own in the payment's
   * transaction.
   */
  async completionsAfter(payments: readonly PaymentInput[]): Promise<PolicyEventInput[]> {
    const policies = payments.flatMap((p) => (p.paymentPolicy === undefined || p.paymentPolicy === ZERO_PUBKEY ? [] : [p.paymentPolicy]));
    if (policies.length === 0) return [];
    const completable = await this.options.directory.completablePolicies(policies);
    const completions: PolicyEventInput[] = [];
    // One read per policy, however many of its payments the run holds.
    const accounts = new Map<string, Promise<PaymentPolicyAccount | undefined>>();
    for (const payment of payments) {
      const policy = payment.paymentPolicy;
      if (policy === undefined || !completable.has(policy) || payment.recordId === undefined) continue;
      if (!accounts.has(policy)) accounts.set(policy, this.readAccount(policy));
      const account = await accounts.get(policy);
      if (account?.status !== "completed" || account.paymentCount !== payment.recordId) continue;
      this.options.metrics.policyEvents.inc({ event: "CompletedByPayment", outcome: "ingested" });
      completions.push({
        trackingId: payment.trackingId,
        paymentPolicy: policy,
        status: "completed",
        previousStatus: "active",
        signature: payment.signature,
        eventIndex: COMPLETION_INDEX_BASE + payment.eventIndex,
        timestamp: payment.timestamp,
        gateway: payment.gateway,
        recipient: payment.recipient,
        slot: payment.slot,
      });
    }
    return completions;
  }

  private async readAccount(address: string): Promise<PaymentPolicyAccount | undefined> {
    const account = await this.options.getAccount(address);
    if (account === null || account.owner !== this.options.programId) return undefined;
    const decoded = decodePaymentPolicyAccount(account.data);
    return decoded.ok ? decoded.account : undefined;
  }

  /** The events that could be attributed, in the order given; the others are counted and logged. */
  async resolve(events: readonly PolicyEventAt[]): Promise<PolicyEventInput[]> {
    const inputs: PolicyEventInput[] = [];
    // Mappings learned within this batch, so a creation and a pause in one batch agree.
    const known = await this.options.directory.lookupPolicies(
      events.flatMap(({ event }) => (event.name === "PaymentPolicyCreated" ? [] : [event.paymentPolicy])),
    );
    for (const at of events) {
      const input = await this.resolveOne(at, known);
      if (input !== undefined) inputs.push(input);
    }
    return inputs;
  }

  private async resolveOne(at: PolicyEventAt, known: Map<string, string>): Promise<PolicyEventInput | undefined> {
    const { event } = at;
    const base = { signature: at.signature, eventIndex: at.eventIndex, timestamp: at.blockTime, slot: at.slot };
    if (event.name === "PaymentPolicyCreated") {
      const memo = memoToTrackingId(event.memo);
      if (!memo.ok) return this.skip(at, "invalid_memo", memo.detail);
      const paymentPolicy = paymentPolicyAddress(event.userPayment, event.policyId, this.options.programId);
      known.set(paymentPolicy, memo.trackingId);
      await this.options.directory.rememberPolicies([
        { paymentPolicy, trackingId: memo.trackingId, source: "created_event", mayComplete: mayComplete(event.policyType) },
      ]);
      return {
        ...base,
        trackingId: memo.trackingId,
        paymentPolicy,
        status: "created",
        gateway: event.gateway,
        recipient: event.recipient,
      };
    }
    const remembered = known.get(event.paymentPolicy);
    if (remembered !== undefined) this.options.metrics.policyLookups.inc({ result: "directory" });
    const trackingId = remembered ?? (await this.fromAccount(event.paymentPolicy));
    if (trackingId === undefined) {
      return this.skip(at, "unknown_policy", `no tracking ID is known for policy ${event.paymentPolicy}`);
    }
    known.set(event.paymentPolicy, trackingId);
    if (event.name === "PaymentPolicyStatusChanged") {
      return { ...base, trackingId, paymentPolicy: event.paymentPolicy, status: event.newStatus, previousStatus: event.oldStatus };
    }
    return { ...base, trackingId, paymentPolicy: event.paymentPolicy, status: "deleted" };
  }

  private async fromAccount(address: string): Promise<string | undefined> {
    const { metrics, logger } = this.options;
    const account = await this.options.getAccount(address);
    if (account === null) {
      metrics.policyLookups.inc({ result: "account_missing" });
      return undefined;
    }
    const decoded = account.owner === this.options.programId ? decodePaymentPolicyAccount(account.data) : undefined;
    if (decoded === undefined || !decoded.ok) {
      metrics.policyLookups.inc({ result: "account_invalid" });
      logger.warn({ address, detail: decoded?.detail ?? "not owned by the program" }, "policy account could not be read");
      return undefined;
    }
    const memo = memoToTrackingId(decoded.account.memo);
    if (!memo.ok) {
      metrics.policyLookups.inc({ result: "account_invalid" });
      return undefined;
    }
    metrics.policyLookups.inc({ result: "account" });
    await this.options.directory.rememberPolicies([
      { paymentPolicy: address, trackingId: memo.trackingId, source: "account", mayComplete: mayComplete(decoded.account.policyType) },
    ]);
    return memo.trackingId;
  }

  private skip(at: PolicyEventAt, outcome: PolicyEventOutcome, detail: string): undefined {
    this.options.metrics.policyEvents.inc({ event: at.event.name, outcome });
    this.options.logger.warn({ signature: at.signature, event: at.event.name, detail }, "skipped a policy event");
    return undefined;
  }
}
