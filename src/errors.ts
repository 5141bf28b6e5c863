import type { ErrorCode } from "./protocol/wire.js";

export type { ErrorCode } from "./protocol/wire.js";

/**
 * The one catalogue of errors a client can see, shared by the socket and the
 * HTTP sides. Codes are stable API; messages of the spec's own codes are the
 * spec's texts, to the letter.
 */
export const ERRORS = {
  INVALID_TRACKING_ID: { status: 400, message: "Tracking ID is required and must be a string" },
  CONNECTION_ERROR: { status: 503, message: "WebSocket connection error" },
  INVALID_SINCE: { status: 400, message: "since must be a whole number ≥ 0: the last offset the client processed" },
  REPLAY_TRUNCATED: { status: 410, message: "Some of the requested payments are no longer retained" },
  SUBSCRIPTION_LIMIT: { status: 429, message: "Too many subscriptions on this connection" },
  UNAUTHORIZED: { status: 401, message: "A valid API key is required: Authorization: Bearer <key>" },
  PUBLISHING_DISABLED: {
    status: 401,
    message: "Publishing is disabled: no API key is configured (set TRIBUTARY_API_KEYS)",
  },
  INVALID_PAYMENT: { status: 400, message: "The payment is invalid" },
  INVALID_BODY: { status: 400, message: "The request body is invalid" },
  INVALID_QUERY: { status: 400, message: "The query string is invalid" },
  PAYLOAD_TOO_LARGE: { status: 413, message: "The request body is too large" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "Send the body as application/json" },
  IDENTITY_CONFLICT: {
    status: 409,
    message: "A payment with this signature and eventIndex is already stored with different content",
  },
  STORE_UNAVAILABLE: { status: 503, message: "The payment store is unavailable" },
  SHUTTING_DOWN: { status: 503, message: "The server is shutting down" },
  RATE_LIMITED: { status: 429, message: "Too many requests; slow down" },
  CONNECTION_LIMIT: { status: 429, message: "Too many connections from this address" },
  MALFORMED_REQUEST: { status: 400, message: "The request is malformed" },
  REQUEST_TIMEOUT: { status: 408, message: "The request was not received in time" },
  NOT_FOUND: { status: 404, message: "Not found" },
  WEBHOOK_URL_REFUSED: {
    status: 400,
    message: "The webhook URL is refused: https to a public address only, unless its host is in WEBHOOK_ALLOWED_HOSTS",
  },
  WEBHOOK_LIMIT: { status: 409, message: "This API key has registered as many webhook endpoints as allowed" },
  INTERNAL: { status: 500, message: "Internal server error" },
  // Keyed by the wire's list of codes: a code missing here, or one the wire does not list, fails to compile.
} as const satisfies Record<ErrorCode, { status: number; message: string }>;

/** An error whose code and message may be shown to a client as they are. */
export class ServiceError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string = ERRORS[code].message,
    /** Where in the input the problem is, for example `[3].amount`. */
    readonly path?: string,
  ) {
    super(message);
    this.name = "ServiceError";
    this.status = ERRORS[code].status;
  }

  toJSON(): { code: ErrorCode; message: string; path?: string } {
    return this.path === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, path: this.path };
  }
}
