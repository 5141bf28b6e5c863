/**
 * Messages between a SQLite store and its writer thread. Errors cannot cross
 * a thread boundary with their class intact, so they travel as plain data and
 * are rebuilt on the store's side, where callers test them with `instanceof`.
 */
import Database from "better-sqlite3";
import type { PaymentInput } from "../payment.js";
import { IdentityConflictError, type RetentionPolicy } from "./payment-store.js";
import type { PruneCursor } from "./prune-steps.js";
import type { CommittedRequest, RequestResult } from "./sqlite-writer.js";

export interface WriterThreadData {
  path: string;
  busyTimeoutMs: number;
}

export type WriterRequest =
  | { id: number; op: "commit"; group: ReadonlyArray<readonly PaymentInput[]> }
  | { id: number; op: "writeCheckpoint"; source: string; value: string }
  | { id: number; op: "pruneStep"; policy: RetentionPolicy; cursor: PruneCursor }
  | { id: number; op: "ping" }
  | { id: number; op: "close" };

export type EncodedRequestResult = CommittedRequest | { error: EncodedError };

export type WriterReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: EncodedError };

export type EncodedError =
  | { kind: "identity"; signature: string; eventIndex: number; field: string }
  | { kind: "sqlite"; message: string; code: string }
  | { kind: "other"; message: string };

export function encodeError(error: unknown): EncodedError {
  if (error instanceof IdentityConflictError) {
    return { kind: "identity", signature: error.signature, eventIndex: error.eventIndex, field: error.field };
  }
  if (error instanceof Database.SqliteError) return { kind: "sqlite", message: error.message, code: error.code };
  return { kind: "other", message: error instanceof Error ? error.message : String(error) };
}

export function decodeError(encoded: EncodedError): Error {
  switch (encoded.kind) {
    case "identity":
      return new IdentityConflictError(encoded.signature, encoded.eventIndex, encoded.field);
    case "sqlite":
      return new Database.SqliteError(encoded.message, encoded.code);
    case "other":
      return new Error(encoded.message);
  }
}

export function encodeResults(results: readonly RequestResult[]): EncodedRequestResult[] {
  return results.map((result) => ("error" in result ? { error: encodeError(result.error) } : result));
}

export function decodeResults(results: readonly EncodedRequestResult[]): RequestResult[] {
  return results.map((result) => ("error" in result ? { error: decodeError(result.error) } : result));
}
