/** The policy memo is the tracking ID: UTF-8, zero-padded to 64 bytes. */
import { isValidTrackingId } from "../payment.js";

export type MemoResult =
  | { ok: true; trackingId: string }
  | { ok: false; reason: "empty_memo" | "invalid_tracking_id"; detail: string };

// fatal: a replacement character would turn an undecodable memo into a
// different, valid-looking tracking ID that no subscriber ever asked for.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function memoToTrackingId(memo: Uint8Array): MemoResult {
  let end = memo.length;
  while (end > 0 && memo[end - 1] === 0) end--;
  if (end === 0) return { ok: false, reason: "empty_memo", detail: "memo is all zero bytes" };
  let text: string;
  try {
    text = utf8.decode(memo.subarray(0, end));
  } catch {
    return { ok: false, reason: "invalid_tracking_id", detail: "memo is not valid UTF-8" };
  }
  if (!isValidTrackingId(text)) {
    return { ok: false, reason: "invalid_tracking_id", detail: "memo contains control characters" };
  }
  return { ok: true, trackingId: text };
}
