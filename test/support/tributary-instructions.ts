/** Instruction trees shaped like real Tributary transactions, for the RPC stand-in. */
import { encodePaymentRecord, type PaymentRecordInit } from "./payment-record-encoder.js";
import {
  encodePolicyCreated,
  encodePolicyDeleted,
  encodePolicyStatusChanged,
  type PolicyCreatedInit,
  type StatusInit,
} from "./policy-event-encoder.js";
import { SYSTEM_PROGRAM_ID } from "./solana-rpc-stand-in.js";
import { COMPUTE_BUDGET_PROGRAM_ID, TOKEN_PROGRAM_ID, type Instruction, type LogStep } from "./solana-rpc-stand-in.js";

export const PROGRAM_ID = "TRibg8W8zmPHQqWtyAD1rEBRXEdyU13Mu6qX1Sg42tJ";

export function setComputeUnitLimit(): Instruction {
  return { programId: COMPUTE_BUDGET_PROGRAM_ID };
}

/** Tributary's execute_payment: a Token CPI moves the funds, then emit! writes the event. */
export function executePayment(events: PaymentRecordInit[], programId = PROGRAM_ID): Instruction {
  const steps: LogStep[] = [{ log: "Instruction: ExecutePayment" }];
  for (const event of events) {
    steps.push({
      invoke: { programId: TOKEN_PROGRAM_ID, steps: [{ log: "Instruction: TransferChecked" }] },
    });
    steps.push({ data: encodePaymentRecord(event) });
  }
  return { programId, steps };
}

/** A failing execute_payment: the event was written, then the instruction failed. */
export function failingPayment(event: PaymentRecordInit, programId = PROGRAM_ID): Instruction {
  return {
    programId,
    steps: [{ log: "Instruction: ExecutePayment" }, { data: encodePaymentRecord(event) }],
    fail: "custom program error: 0x1771",
  };
}

/**
 * Another program calling Tributary by CPI, which also writes data of its own
 * before and after, including a forged PaymentRecord: only the one Tributary
 * itself emitted counts.
 */
export function viaOtherProgram(
  callerId: string,
  inner: Instruction,
  forged: PaymentRecordInit,
): Instruction {
  return {
    programId: callerId,
    steps: [
      { log: "Instruction: Route" },
      { data: encodePaymentRecord(forged) },
      { invoke: inner },
      { data: encodePaymentRecord(forged) },
    ],
  };
}

/** create_payment_policy: the System program allocates the account, then emit! writes the event. */
export function createPaymentPolicy(event: PolicyCreatedInit, programId = PROGRAM_ID): Instruction {
  return {
    programId,
    steps: [
      { log: "Instruction: CreatePaymentPolicy" },
      { invoke: { programId: SYSTEM_PROGRAM_ID } },
      { data: encodePolicyCreated(event) },
    ],
  };
}

/** change_payment_policy_status: an owner pauses or resumes. */
export function changePaymentPolicyStatus(
  paymentPolicy: string,
  oldStatus: StatusInit,
  newStatus: StatusInit,
  programId = PROGRAM_ID,
): Instruction {
  return {
    programId,
    steps: [
      { log: "Instruction: ChangePaymentPolicyStatus" },
      { data: encodePolicyStatusChanged(paymentPolicy, oldStatus, newStatus) },
      { log: `Payment policy status changed from ${oldStatus} to ${newStatus}` },
    ],
  };
}

/** delete_payment_policy: the account is closed and its rent returned. */
export function deletePaymentPolicy(paymentPolicy: string, owner: string, policyId: number, programId = PROGRAM_ID): Instruction {
  return {
    programId,
    steps: [{ log: "Instruction: DeletePaymentPolicy" }, { data: encodePolicyDeleted(paymentPolicy, owner, policyId) }],
  };
}
