import type { IncomingMessage } from "node:http";

/**
 * The worker that runs the node's jobs (sources, retention, webhooks) and
 * takes every publish while it is up, so that one process writes the store:
 * SQLite's write lock, shared by several processes, is waited for by sleeping.
 */
export const PUBLISHING_WORKER_INDEX = 0;

/** How a publish's request line starts; the primary reads it before a worker is chosen. */
export const PUBLISH_REQUEST_LINE_PREFIX = "POST /v1/payments";

/** The same test on a parsed request, as a worker sees it. */
export function isPublishRequest(request: IncomingMessage): boolean {
  return `${request.method ?? ""} ${request.url ?? ""}`.startsWith(PUBLISH_REQUEST_LINE_PREFIX);
}
