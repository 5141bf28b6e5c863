/**
 * A small Solana JSON-RPC client over HTTP: the three methods the chain
 * watcher needs, with timeouts and retries. The protocol is plain JSON-RPC
 * 2.0, so a full Solana SDK would add weight without adding safety.
 */
import { z } from "zod";
import { backoffDelay, DEFAULT_BACKOFF, sleep, validateBackoff, type BackoffOptions } from "../backoff.js";

/** Levels the watcher may use; `processed` is excluded because getSignaturesForAddress rejects it. */
export type Commitment = "confirmed" | "finalized";
export const COMMITMENTS: readonly Commitment[] = ["confirmed", "finalized"];

export class RpcError extends Error {
  constructor(
    message: string,
    readonly method: string,
    /** The JSON-RPC error code, or the HTTP status when the call failed before JSON-RPC. */
    readonly code: number | undefined,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = "RpcError";
  }
}

export interface RetryInfo {
  method: string;
  attempt: number;
  reason: string;
  delayMs: number;
}

export interface SolanaRpcOptions {
  /** HTTP(S) URL of the RPC node. */
  url: string;
  /**
   * Time allowed for one HTTP attempt, in ms.
   * @default 10000
   */
  timeoutMs?: number;
  /**
   * How many times a call is tried before it fails.
   * @default 6
   */
  maxAttempts?: number;
  /** Delays between attempts. @default { baseDelayMs: 250, maxDelayMs: 10000 } */
  backoff?: BackoffOptions;
  /**
   * Upper bound for a server's Retry-After, in ms, so one bad header cannot stall the watcher.
   * @default 60000
   */
  maxRetryAfterMs?: number;
  /** Called before every retry (metrics, logging). */
  onRetry?: (info: RetryInfo) => void;
  /** Random source for jitter; tests pass a fixed one. @default Math.random */
  random?: () => number;
}

export const signatureInfoSchema = z.object({
  signature: z.string(),
  slot: z.number().int().nonnegative(),
  err: z.unknown().transform((value) => value ?? null),
  memo: z.string().nullish(),
  blockTime: z.number().int().nullish(),
  confirmationStatus: z.string().nullish(),
});
export type SignatureInfo = z.infer<typeof signatureInfoSchema>;

export const transactionSchema = z.object({
  slot: z.number().int().nonnegative(),
  blockTime: z.number().int().nullish(),
  meta: z
    .object({
      err: z.unknown().transform((value) => value ?? null),
      logMessages: z.array(z.string()).nullish(),
    })
    .nullable(),
  transaction: z.object({ signatures: z.array(z.string()).min(1) }),
});
export type TransactionInfo = z.infer<typeof transactionSchema>;

const accountInfoResultSchema = z.object({
  value: z
    .object({
      owner: z.string(),
      data: z.tuple([z.string(), z.literal("base64")]),
    })
    .nullable(),
});

export interface AccountInfo {
  owner: string;
  data: Uint8Array;
}

export interface SignaturesQuery {
  before?: string | undefined;
  until?: string | undefined;
  /** 1 to 1000; the node's default is 1000. */
  limit?: number | undefined;
  commitment: Commitment;
}

// Node-side conditions that pass on their own: node behind (-32005), block
// not yet available (-32004) or its status not yet known (-32014).
const RETRYABLE_RPC_CODES = new Set([-32004, -32005, -32014]);

const rpcResponseSchema = z.object({
  jsonrpc: z.literal("2.0"),
  result: z.unknown().optional(),
  error: z.object({ code: z.number(), message: z.string() }).optional(),
});

export class SolanaRpc {
  readonly url: string;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #backoff: BackoffOptions;
  readonly #maxRetryAfterMs: number;
  readonly #onRetry: ((info: RetryInfo) => void) | undefined;
  readonly #random: () => number;
  #nextId = 1;

  constructor(options: SolanaRpcOptions) {
    const url = new URL(options.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`Expected \`url\` to be an http(s) URL, got \`${options.url}\``);
    }
    this.url = options.url;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxAttempts = options.maxAttempts ?? 6;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.#onRetry = options.onRetry;
    this.#random = options.random ?? Math.random;
    if (!Number.isInteger(this.#maxAttempts) || this.#maxAttempts < 1) {
      throw new TypeError(`Expected \`maxAttempts\` to be an integer from 1 and up, got \`${this.#maxAttempts}\``);
    }
    if (!(this.#timeoutMs > 0)) throw new TypeError(`Expected \`timeoutMs\` to be above 0, got \`${this.#timeoutMs}\``);
    validateBackoff(this.#backoff, "backoff");
  }

  async getSignaturesForAddress(address: string, query: SignaturesQuery, signal?: AbortSignal): Promise<SignatureInfo[]> {
    const config: Record<string, unknown> = { commitment: query.commitment };
    if (query.before !== undefined) config.before = query.before;
    if (query.until !== undefined) config.until = query.until;
    if (query.limit !== undefined) config.limit = query.limit;
    const result = await this.call("getSignaturesForAddress", [address, config], signal);
    return parseResult("getSignaturesForAddress", z.array(signatureInfoSchema), result);
  }

  /** Null when the node does not (yet) know the transaction at this commitment. */
  async getTransaction(
    signature: string,
    commitment: Commitment,
    signal?: AbortSignal,
  ): Promise<TransactionInfo | null> {
    const result = await this.call(
      "getTransaction",
      // Without maxSupportedTransactionVersion the node refuses every
      // versioned (v0) transaction instead of returning it.
      [signature, { commitment, encoding: "json", maxSupportedTransactionVersion: 0 }],
      signal,
    );
    return parseResult("getTransaction", transactionSchema.nullable(), result);
  }

  /** Null when the node has no time for the slot (skipped or pruned). */
  async getBlockTime(slot: number, signal?: AbortSignal): Promise<number | null> {
    const result = await this.call("getBlockTime", [slot], signal);
    return parseResult("getBlockTime", z.number().int().nullable(), result);
  }

  /** An account's data and owner; null when the account does not exist (never created, or closed). */
  async getAccountInfo(address: string, commitment: Commitment, signal?: AbortSignal): Promise<AccountInfo | null> {
    const result = await this.call("getAccountInfo", [address, { encoding: "base64", commitment }], signal);
    const parsed = parseResult("getAccountInfo", accountInfoResultSchema, result);
    if (parsed.value === null) return null;
    return { owner: parsed.value.owner, data: Buffer.from(parsed.value.data[0], "base64") };
  }

  async getSlot(commitment: Commitment, signal?: AbortSignal): Promise<number> {
    const result = await this.call("getSlot", [{ commitment }], signal);
    return parseResult("getSlot", z.number().int().nonnegative(), result);
  }

  /** One JSON-RPC call, retried on timeouts, network errors, 429, 5xx and transient node errors. */
  async call(method: string, params: unknown[], signal?: AbortSignal): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      let failure: { error: RpcError; retryAfterMs?: number | undefined };
      try {
        return await this.#attempt(method, params, signal);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        failure = error instanceof AttemptFailure ? error.failure : { error: toRpcError(method, error) };
      }
      if (!failure.error.retryable || attempt + 1 >= this.#maxAttempts) throw failure.error;
      const delayMs =
        failure.retryAfterMs !== undefined
          ? Math.min(failure.retryAfterMs, this.#maxRetryAfterMs)
          : backoffDelay(attempt, this.#backoff, this.#random);
      this.#onRetry?.({ method, attempt: attempt + 1, reason: failure.error.message, delayMs });
      await sleep(delayMs, signal);
    }
  }

  async #attempt(method: string, params: unknown[], signal: AbortSignal | undefined): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const response = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: this.#nextId++, method, params }),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const text = await response.text();
    if (response.status === 429 || response.status >= 500) {
      throw new AttemptFailure({
        error: new RpcError(`${method}: HTTP ${response.status}`, method, response.status, true),
        retryAfterMs: parseRetryAfter(response.headers.get("retry-after")),
      });
    }
    let body: z.infer<typeof rpcResponseSchema>;
    try {
      body = rpcResponseSchema.parse(JSON.parse(text));
    } catch {
      throw new RpcError(`${method}: HTTP ${response.status} with a body that is not JSON-RPC`, method, response.status, false);
    }
    if (body.error) {
      throw new RpcError(
        `${method}: ${body.error.message} (${body.error.code})`,
        method,
        body.error.code,
        RETRYABLE_RPC_CODES.has(body.error.code),
      );
    }
    if (!response.ok) throw new RpcError(`${method}: HTTP ${response.status}`, method, response.status, false);
    return body.result;
  }
}

class AttemptFailure extends Error {
  constructor(readonly failure: { error: RpcError; retryAfterMs?: number | undefined }) {
    super(failure.error.message);
  }
}

function toRpcError(method: string, error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return new RpcError(`${method}: timed out`, method, undefined, true);
  }
  // fetch rejects with a TypeError for refused connections, resets and DNS failures.
  const message = error instanceof Error ? error.message : String(error);
  return new RpcError(`${method}: ${message}`, method, undefined, true);
}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function parseResult<T>(method: string, schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new RpcError(`${method}: unexpected result shape: ${parsed.error.issues[0]?.message ?? "invalid"}`, method, undefined, false);
  }
  return parsed.data;
}
