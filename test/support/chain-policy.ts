/**
 * One payment policy living on the RPC stand-in's chain: each step adds the
 * transaction the program would write and keeps the policy account as the
 * program leaves it (created, status changed, closed on deletion).
 */
import { paymentPolicyAddress } from "../../src/tributary/program-address.js";
import { randomPubkey } from "./payment-record-encoder.js";
import { encodePolicyAccount, type PolicyTypeInit, type StatusInit } from "./policy-event-encoder.js";
import type { SolanaRpcStandIn, StandInTransaction } from "./solana-rpc-stand-in.js";
import {
  PROGRAM_ID,
  changePaymentPolicyStatus,
  createPaymentPolicy,
  deletePaymentPolicy,
  executePayment,
  setComputeUnitLimit,
} from "./tributary-instructions.js";

export class ChainPolicy {
  readonly userPayment = randomPubkey();
  readonly owner = randomPubkey();
  readonly gateway = randomPubkey();
  readonly recipient = randomPubkey();
  readonly address: string;
  status: StatusInit = "active";
  private records = 0;

  constructor(
    private readonly node: SolanaRpcStandIn,
    readonly memo: string,
    readonly policyId = 1,
    readonly policyType: PolicyTypeInit = { subscription: { amount: 1_000_000n, frequency: "monthly" } },
  ) {
    this.address = paymentPolicyAddress(this.userPayment, policyId, PROGRAM_ID);
  }

  create(options: { notify?: boolean; legacy?: boolean } = {}): StandInTransaction {
    const tx = this.node.addTransaction({
      instructions: [
        setComputeUnitLimit(),
        createPaymentPolicy({
          userPayment: this.userPayment,
          recipient: this.recipient,
          gateway: this.gateway,
          policyId: this.policyId,
          policyType: this.policyType,
          memo: this.memo,
          createdPoliciesCount: options.legacy === true ? undefined : this.policyId,
        }),
      ],
      notify: options.notify,
    });
    this.writeAccount();
    return tx;
  }

  setStatus(next: StatusInit): StandInTransaction {
    const tx = this.node.addTransaction({ instructions: [changePaymentPolicyStatus(this.address, this.status, next)] });
    this.status = next;
    this.writeAccount();
    return tx;
  }

  /** An executed payment; `completes` is the last one the policy allows, after which the program marks it completed without an event. */
  pay(amount: bigint, options: { completes?: boolean } = {}): StandInTransaction {
    const record = ++this.records;
    if (options.completes === true) this.status = "completed";
    this.writeAccount();
    return this.node.addTransaction({
      instructions: [
        setComputeUnitLimit(),
        executePayment([
          { paymentPolicy: this.address, gateway: this.gateway, recipient: this.recipient, memo: this.memo, amount, recordId: record },
        ]),
      ],
    });
  }

  delete(): StandInTransaction {
    const tx = this.node.addTransaction({ instructions: [deletePaymentPolicy(this.address, this.owner, this.policyId)] });
    this.node.closeAccount(this.address);
    return tx;
  }

  private writeAccount(): void {
    this.node.setAccount(
      this.address,
      PROGRAM_ID,
      encodePolicyAccount({
        userPayment: this.userPayment,
        recipient: this.recipient,
        gateway: this.gateway,
        policyType: this.policyType,
        status: this.status,
        memo: this.memo,
        policyId: this.policyId,
        paymentCount: this.records,
      }),
    );
  }
}
