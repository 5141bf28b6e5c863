import { randomBytes } from "node:crypto";

/** A request of an existing session: its `sid` query parameter, as `newSessionId` writes it. */
const SESSION_OF_WORKER = /[?&]sid=(\d{1,4})\.[\w-]{20}(?:&|\s|$)/;

/**
 * An Engine.IO session id that names the worker holding the session: the
 * worker's index, a dot, then 20 characters of URL-safe base64 (15 random
 * bytes, as Engine.IO's own ids). The primary routes a session's later
 * requests by reading it, so nothing has to reach the primary from the
 * worker before the client's next request does.
 */
export function newSessionId(workerIndex: number): string {
  return `${workerIndex}.${randomBytes(15).toString("base64url")}`;
}

/** The worker that holds the session a request line names, if it names one. */
export function sessionWorkerIndex(requestLine: string): number | undefined {
  const index = SESSION_OF_WORKER.exec(requestLine)?.[1];
  return index === undefined ? undefined : Number(index);
}
