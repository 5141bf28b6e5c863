/**
 * Attributes `Program data:` lines of a transaction's log to the program that
 * emitted them.
 *
 * The runtime writes `Program <id> invoke [<depth>]` when an instruction or a
 * CPI starts, and `Program <id> success` or `Program <id> failed: …` when it
 * ends; `Program data:` is written by sol_log_data of the program currently
 * executing, i.e. the top of the invoke stack. A program cannot forge those
 * lines: its own text always gets a `Program log:` prefix. So taking only the
 * data lines seen while the Tributary program is on top is what keeps events
 * of callers and callees (which may reuse the same discriminator) out.
 */

/** What the runtime appends once a transaction's log exceeds its byte limit; nothing follows it. */
export const LOG_TRUNCATED = "Log truncated";

// Base58 public keys are 32 to 44 characters long.
const INVOKE = /^Program ([1-9A-HJ-NP-Za-km-z]{32,44}) invoke \[(\d+)\]$/;
const SUCCESS = /^Program ([1-9A-HJ-NP-Za-km-z]{32,44}) success$/;
const FAILED = /^Program ([1-9A-HJ-NP-Za-km-z]{32,44}) failed: /;
const DATA_PREFIX = "Program data: ";

export interface AttributedData {
  /** Payloads (the text after `Program data: `) emitted directly by the program, in log order. */
  data: string[];
  /** True when the log was cut short: events after the cut are lost. */
  truncated: boolean;
  /** Lines that did not fit the invoke nesting (garbage, or frames lost to truncation). */
  anomalies: number;
}

export function programDataOf(logs: readonly unknown[], programId: string): AttributedData {
  const stack: string[] = [];
  const data: string[] = [];
  let truncated = false;
  let anomalies = 0;
  for (const line of logs) {
    if (typeof line !== "string") {
      anomalies++;
      continue;
    }
    if (line === LOG_TRUNCATED) {
      truncated = true;
      break;
    }
    if (line.startsWith(DATA_PREFIX)) {
      if (stack.length === 0) anomalies++;
      else if (stack[stack.length - 1] === programId) data.push(line.slice(DATA_PREFIX.length));
      continue;
    }
    const invoke = INVOKE.exec(line);
    if (invoke) {
      const [, id = "", depthText = ""] = invoke;
      const depth = Number(depthText);
      if (depth !== stack.length + 1) {
        anomalies++;
        // Trust the runtime's depth over our own count: frames whose end we
        // never saw are dropped, frames we never saw start are unknown ("?"),
        // so nothing is attributed to them.
        if (depth >= 1 && depth <= stack.length) stack.length = depth - 1;
        while (stack.length < depth - 1) stack.push("?");
      }
      stack.push(id);
      continue;
    }
    const end = SUCCESS.exec(line) ?? FAILED.exec(line);
    if (end) {
      const id = end[1];
      const at = stack.lastIndexOf(id ?? "");
      if (at === -1) {
        anomalies++;
      } else {
        if (at !== stack.length - 1) anomalies++;
        stack.length = at;
      }
    }
  }
  return { data, truncated, anomalies };
}
