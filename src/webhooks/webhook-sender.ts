import { lookup as dnsLookup } from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import type { LookupAddress } from "node:dns";
import type { Socket } from "node:net";
import type { OutboundPolicy } from "./outbound-policy.js";

/** Resolves a host name to its addresses; injectable so tests never ask real DNS or reach a real address. */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface SendResult {
  /** The receiver's status; absent when no answer came. */
  statusCode?: number;
  /** From `Retry-After`, in ms. */
  retryAfterMs?: number;
  /** Why no answer came (refused, timed out, connection error). */
  error?: string;
  /** `refused`: stopped by the outbound policy before any connection; `timeout`; `network`. */
  failure?: "refused" | "timeout" | "network";
  latencyMs: number;
}

export interface WebhookSenderOptions {
  policy: OutboundPolicy;
  resolver?: Resolver;
  connectTimeoutMs: number;
  /** Bound on the whole request, from the first byte sent to the end of the answer read. */
  responseTimeoutMs: number;
  /** Answer bytes read at most; the rest is dropped with the connection. */
  maxResponseBytes?: number;
}

class RefusedError extends Error {}

/** Refused, not blocked: a hostile answer to `Retry-After` cannot park an endpoint for long. */
const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Math.min(Number(value.trim()) * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS);
}

/**
 * How long a kept-alive connection to a receiver may sit idle before we close
 * it. Node's agent otherwise keeps it until the receiver closes it (Node's
 * servers after 5 s), and a webhook sent on it just then fails with a reset.
 * With a timeout set, the agent also closes a second before the timeout a
 * receiver announces in `Keep-Alive: timeout=…`, when that is sooner.
 */
const IDLE_CONNECTION_MS = 4000;

/**
 * POSTs one webhook. Redirects are never followed (a 3xx is a failure), the
 * answer's body is read only up to a cap, and the connection goes only to an
 * address the outbound policy accepts, checked inside the DNS lookup that the
 * socket itself uses, so no packet leaves for a refused address.
 */
export class WebhookSender {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16, timeout: IDLE_CONNECTION_MS });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16, timeout: IDLE_CONNECTION_MS });
  private readonly resolver: Resolver;

  constructor(private readonly options: WebhookSenderOptions) {
    this.resolver = options.resolver ?? systemResolver;
  }

  send(request: SendRequest): Promise<SendResult> {
    const startedAt = performance.now();
    const elapsed = () => performance.now() - startedAt;
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return Promise.resolve({ error: "the URL is invalid", failure: "refused", latencyMs: 0 });
    }
    const refusal = this.options.policy.refuseUrl(url);
    if (refusal !== undefined) return Promise.resolve({ error: refusal, failure: "refused", latencyMs: 0 });

    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: Omit<SendResult, "latencyMs">) => {
        if (settled) return;
        settled = true;
        clearTimeout(responseTimer);
        clearTimeout(connectTimer);
        resolve({ ...result, latencyMs: elapsed() });
      };
      const isHttps = url.protocol === "https:";
      const outgoing = (isHttps ? https : http).request(url, {
        method: "POST",
        agent: isHttps ? this.httpsAgent : this.httpAgent,
        headers: { ...request.headers, "content-length": String(Buffer.byteLength(request.body)) },
        lookup: (hostname, lookupOptions, callback) => this.guardedLookup(hostname, lookupOptions, callback),
      });
      let connectTimer: NodeJS.Timeout | undefined;
      const responseTimer = setTimeout(() => {
        finish({ error: `no answer within ${this.options.responseTimeoutMs} ms`, failure: "timeout" });
        outgoing.destroy();
      }, this.options.responseTimeoutMs);
      outgoing.on("socket", (socket: Socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(() => {
          finish({ error: `no connection within ${this.options.connectTimeoutMs} ms`, failure: "timeout" });
          outgoing.destroy();
        }, this.options.connectTimeoutMs);
        socket.once("connect", () => clearTimeout(connectTimer));
      });
      outgoing.on("error", (error) => {
        const refused = error instanceof RefusedError;
        finish({ error: refused ? error.message : `connection failed: ${error.message}`, failure: refused ? "refused" : "network" });
      });
      outgoing.on("response", (response) => {
        const statusCode = response.statusCode ?? 0;
        const retryAfterMs = parseRetryAfter(response.headers["retry-after"], Date.now());
        const result = { statusCode, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
        let read = 0;
        const cap = this.options.maxResponseBytes ?? 64 * 1024;
        response.on("data", (chunk: Buffer) => {
          read += chunk.length;
          if (read > cap) {
            finish(result);
            response.destroy();
          }
        });
        response.on("end", () => finish(result));
        response.on("error", () => finish(result));
      });
      outgoing.end(request.body);
    });
  }

  private guardedLookup(
    hostname: string,
    options: { all?: boolean },
    callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void {
    this.resolver(hostname).then(
      (addresses) => {
        if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), "");
        for (const entry of addresses) {
          const refusal = this.options.policy.refuseAddress(hostname, entry.address);
          if (refusal !== undefined) return callback(new RefusedError(refusal), "");
        }
        const first = addresses[0] as LookupAddress;
        if (options.all === true) callback(null, addresses);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, ""),
    );
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
