import { ERRORS, type ErrorCode } from "../errors.js";

/** The headers every answer carries, for the few written below Fastify (where helmet's hooks never run). */
export const RAW_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "SAMEORIGIN",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
  "Cache-Control": "no-store",
};

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
};

/**
 * A complete HTTP/1.1 error answer in the catalogue's shape, for a socket
 * Fastify never turned into a request (unparsable HTTP, a request not
 * received in time). The connection closes after it.
 */
export function rawErrorAnswer(status: number, code: ErrorCode, message: string = ERRORS[code].message): string {
  const body = JSON.stringify({ error: { code, message } });
  const headers = Object.entries(RAW_SECURITY_HEADERS)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  return (
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\n` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `${headers}Connection: close\r\n\r\n${body}`
  );
}
