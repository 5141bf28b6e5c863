/** Stream entries as the producers this service reads from write them. */
import bs58 from "bs58";
import { randomPubkey, randomSignature } from "./payments.js";

export interface PaymentRecordEventInit {
  memo: string | number[];
  amount: string;
  signature?: string;
  slot?: number;
  timestamp?: number | string;
  recordId?: number;
  eventIndex?: number;
  /** Write the public keys as 32-number arrays instead of base58 text. */
  keysAsArrays?: boolean;
  paymentPolicy?: string;
  gateway?: string;
  payer?: string;
  recipient?: string;
  tokenMint?: string;
}

/** The JSON the Tributary indexer publishes to its `tributary_PaymentRecord` Kafka topic. */
export function paymentRecordEvent(init: PaymentRecordEventInit): Record<string, unknown> {
  const key = (value: string) => (init.keysAsArrays ? [...bs58.decode(value)] : value);
  const memo = typeof init.memo === "string" ? [...new TextEncoder().encode(init.memo)] : init.memo;
  const event: Record<string, unknown> = {
    event_name: "PaymentRecord",
    signature: init.signature ?? randomSignature(),
    slot: init.slot ?? 1234,
    program_id: key("TRibg8W8zmPHQqWtyAD1rEBRXEdyU13Mu6qX1Sg42tJ"),
    data: {
      payment_policy: key(init.paymentPolicy ?? randomPubkey()),
      gateway: key(init.gateway ?? randomPubkey()),
      amount: init.amount,
      timestamp: init.timestamp ?? 1_700_000_000,
      memo: [...memo, ...new Array<number>(Math.max(0, 64 - memo.length)).fill(0)],
      record_id: init.recordId ?? 7,
      payer: key(init.payer ?? randomPubkey()),
      recipient: key(init.recipient ?? randomPubkey()),
      token_mint: key(init.tokenMint ?? randomPubkey()),
    },
    timestamp: 1_700_000_001,
  };
  if (init.eventIndex !== undefined) event.event_index = init.eventIndex;
  return event;
}

/** The indexer's JSON for a policy lifecycle event, shaped like its PaymentRecord messages. */
export function policyEventMessage(
  eventName: "PaymentPolicyCreated" | "PaymentPolicyStatusChanged" | "PaymentPolicyDeleted",
  data: Record<string, unknown>,
  extra: { signature?: string; slot?: number; blockTime?: number } = {},
): Record<string, unknown> {
  return {
    event_name: eventName,
    signature: extra.signature ?? randomSignature(),
    slot: extra.slot ?? 1234,
    program_id: "TRibg8W8zmPHQqWtyAD1rEBRXEdyU13Mu6qX1Sg42tJ",
    data,
    block_time: extra.blockTime ?? 1_700_000_100,
  };
}

export function memoBytes(text: string): number[] {
  const memo = [...new TextEncoder().encode(text)];
  return [...memo, ...new Array<number>(64 - memo.length).fill(0)];
}
